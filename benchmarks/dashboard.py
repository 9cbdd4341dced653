"""Dashboard benchmarks: a 1M-point metric served downsampled (first and cached request),
the runs table of a project with 1,000 runs, and first paint of the project page in chromium.

    .venv/bin/python benchmarks/dashboard.py [--points 1000000] [--runs 1000]
"""

from __future__ import annotations

import argparse
import os
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


def big_metric_run(logdir: str, points: int) -> str:
    run = seetrain.init(project="bench", experiment_name="big", logdir=logdir, reinit="create_new")
    run.log({"loss": 1.0}, step=0)
    run.finish()
    # Bulk-insert straight into the run's table: measuring the reader, not the writer.
    conn = sqlite3.connect(os.path.join(run.dir, "run.sqlite"))
    kid = conn.execute("SELECT id FROM metric_keys WHERE name = 'loss'").fetchone()[0]
    rng = np.random.default_rng(0)
    vals = np.exp(-np.arange(points) / points * 5) + rng.normal(0, 0.01, points)
    t0 = time.time()
    rows = ((kid, i, t0 + i * 0.01, float(v), None) for i, v in enumerate(vals) if i > 0)
    conn.executemany("INSERT INTO scalars (key_id, step, ts, value, special) VALUES (?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()
    return run.id


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
    ap.add_argument("--runs", type=int, default=1000)
    args = ap.parse_args()
    os.environ.setdefault("SEETRAIN_SYSTEM_MONITOR", "0")
    os.environ.setdefault("SEETRAIN_CAPTURE_CONSOLE", "0")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as logdir:
        rid = big_metric_run(logdir, args.points)
        client = TestClient(create_app(LocalSource(logdir)))
        url = f"/api/v1/runs/bench/{rid}/metric"
        first, res = timed(lambda: client.get(url, params={"key": "loss", "max_points": 1000}).json())
        cached, _ = timed(lambda: client.get(url, params={"key": "loss", "max_points": 1000}).json(), repeat=5)
        zoom, zres = timed(lambda: client.get(url, params={"key": "loss", "max_points": 1000, "x_min": 400_000,
                                                           "x_max": 410_000}).json(), repeat=5)
        live, _ = timed(lambda: client.get(url, params={"key": "loss", "after_step": args.points - 100}).json(), repeat=5)
        rows += [(f"{args.points:,}-point metric, first request (reads SQLite)", f"{first:.0f} ms ({len(res['step'])} pts)"),
                 (f"{args.points:,}-point metric, cached, whole range", f"{cached:.1f} ms"),
                 ("zoomed range (10k points in range)", f"{zoom:.1f} ms ({len(zres['step'])} pts)"),
                 ("live poll (after_step, 99 new points)", f"{live:.1f} ms")]
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
    print(f"(created {args.runs} runs in {make_s:.1f} s)")
    print(f"{'measure'.ljust(width)}  result")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
