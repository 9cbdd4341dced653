"""Dashboard benchmarks: a 1M-point metric served downsampled (first and cached request, zooms,
live poll, and the same run as a schema-1 database without level-of-detail blocks), the runs
table of a project with 1,000 runs, and first paint of the project page in chromium.

    .venv/bin/python benchmarks/dashboard.py [--points 1000000] [--runs 1000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient

import seetrain
from seetrain.server.app import create_app
from seetrain.server.local_source import LocalSource

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def timed(fn, repeat: int = 1) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000, out


def big_metric_run(logdir: str, points: int) -> tuple[str, float]:
    """A run with one ``points``-long metric logged through the SDK (so its blocks are written
    by the real writer), with a spike and a NaN in it. Returns the run id and seconds taken."""
    rng = np.random.default_rng(0)
    vals = (np.exp(-np.arange(points) / points * 5) + rng.normal(0, 0.01, points)).tolist()
    vals[points // 3] = 50.0
    vals[2 * points // 3] = float("nan")
    t0 = time.perf_counter()
    run = seetrain.init(project="bench", experiment_name="big", logdir=logdir, reinit="create_new")
    log = run.log
    for i, v in enumerate(vals):
        log({"loss": v}, step=i)
    run.finish()
    return run.id, time.perf_counter() - t0


def schema1_copy(logdir: str, run_id: str) -> None:
    """The same run as project "legacy", turned back into a schema-1 database (no blocks, the
    old (key_id, step) index): what the dashboard read before level-of-detail blocks."""
    src = os.path.join(logdir, "bench", run_id)
    dst = os.path.join(logdir, "legacy", run_id)
    shutil.copytree(src, dst)
    conn = sqlite3.connect(os.path.join(dst, "run.sqlite"))
    conn.executescript("DROP TABLE scalar_blocks; DROP INDEX scalars_by_key_seq; "
                       "CREATE INDEX scalars_by_key ON scalars (key_id, step); "
                       "UPDATE run SET project = 'legacy', schema_version = 1;")
    conn.close()


def many_runs(logdir: str, n: int) -> None:
    for i in range(n):
        run = seetrain.init(project="many", experiment_name=f"trial-{i}", logdir=logdir, reinit="create_new",
                            config={"lr": 10 ** -(i % 5), "batch": 32 * (1 + i % 4), "seed": i})
        run.log({"loss": 1.0 / (i + 1), "acc": i / n}, step=0)
        run.finish()


def first_paint(url: str) -> tuple[float, float]:
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 960})
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            page.goto(url)
            page.wait_for_selector("table.runs tbody tr[data-run]")
            table_ms = (time.perf_counter() - t0) * 1000
            fcp = page.evaluate("performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? -1")
            times.append((fcp, table_ms))
            page.goto("about:blank")
        browser.close()
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=1000, help="0 skips the runs-table and browser part")
    args = ap.parse_args()
    os.environ.setdefault("SEETRAIN_SYSTEM_MONITOR", "0")
    os.environ.setdefault("SEETRAIN_CAPTURE_CONSOLE", "0")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as logdir:
        rid, log_s = big_metric_run(logdir, args.points)
        print(f"(logged {args.points:,} points through seetrain.log + finish in {log_s:.1f} s)")
        schema1_copy(logdir, rid)
        n = args.points
        full = {"key": "loss", "max_points": 1000}
        zoom10k = {**full, "x_min": 4 * n // 10, "x_max": 4 * n // 10 + n // 100}
        zoom100k = {**full, "x_min": n // 4, "x_max": n // 4 + n // 10}
        for project, label in (("bench", ""), ("legacy", " [schema 1, no blocks]")):
            client = TestClient(create_app(LocalSource(logdir)))
            url = f"/api/v1/runs/{project}/{rid}/metric"

            def get(params: dict, url: str = url, client: TestClient = client) -> dict:
                return client.get(url, params=params).json()

            client.get("/api/v1/projects")  # app warm-up: the first metric request is what is measured
            first, res = timed(lambda: get(full))
            cached, _ = timed(lambda: get(full), repeat=5)
            spike = 50.0 in res["value"] and "nan" in res["flag"]
            rows += [(f"{n:,}-point metric, first request{label}",
                      f"{first:.1f} ms ({len(res['step'])} pts, spike+NaN shown: {spike})"),
                     (f"{n:,}-point metric, next request (cached){label}", f"{cached:.1f} ms")]
            if project == "legacy":
                continue
            z1, zres = timed(lambda: get(zoom10k))
            z1c, _ = timed(lambda: get(zoom10k), repeat=5)
            z2, zres2 = timed(lambda: get(zoom100k))
            live, _ = timed(lambda: get({"key": "loss", "after_step": n - 100}), repeat=5)
            rows += [(f"zoom, {zres['in_range']:,} points in range (raw rows), first / cached",
                      f"{z1:.1f} / {z1c:.1f} ms ({len(zres['step'])} pts)"),
                     (f"zoom, {zres2['in_range']:,} points in range (block extremes), first",
                      f"{z2:.1f} ms ({len(zres2['step'])} pts)"),
                     ("live poll (after_step, 99 new points)", f"{live:.1f} ms")]
        make_s = 0.0
        if args.runs:
            t0 = time.perf_counter()
            many_runs(logdir, args.runs)
            make_s = time.perf_counter() - t0
            source = LocalSource(logdir)
            client = TestClient(create_app(source))
            cold, out = timed(lambda: client.get("/api/v1/projects/many/runs").json())
            warm, _ = timed(lambda: client.get("/api/v1/projects/many/runs").json(), repeat=5)
            rows += [(f"runs table, {len(out):,} runs, first request", f"{cold:.0f} ms"),
                     (f"runs table, {len(out):,} runs, cached rows", f"{warm:.0f} ms")]
            if os.path.exists("/usr/bin/chromium"):
                from tests.e2e.conftest import LiveServer

                server = LiveServer(create_app(source)).start()
                try:
                    fcp, table = first_paint(f"{server.url}/#/project/many")
                finally:
                    server.stop()
                rows += [(f"project page ({args.runs:,} runs), first contentful paint", f"{fcp:.0f} ms"),
                         (f"project page ({args.runs:,} runs), table rendered", f"{table:.0f} ms")]
    width = max(len(r[0]) for r in rows)
    if args.runs:
        print(f"(created {args.runs} runs in {make_s:.1f} s)")
    print(f"{'measure'.ljust(width)}  result")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
