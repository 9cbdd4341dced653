"""Dashboard benchmarks: a 1M-point metric served downsampled (first and cached request, zooms,
live poll), the runs
table of a project with 1,000 runs, first paint of the project page in chromium, and a
generated sweep (100 runs x 20 metrics x 5,000 steps by default, written through
seetrain.init/log): one 100-run chart request (time, gzip bytes on the wire), grouping the 100
runs into 5 bands server-side, and in chromium the first 6 panels drawn after navigation and
the redraw after a smoothing or grouping change.

    .venv/bin/python benchmarks/dashboard.py [--points 1000000] [--runs 1000]
    .venv/bin/python benchmarks/dashboard.py --points 0 --runs 0 --sweep 100 --sweep-metrics 20 --sweep-steps 5000
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
    """A run with one ``points``-long metric logged through the SDK (so its chunks are written
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


class Rows(list):
    """Result rows, each also printed as soon as it is measured (a slow machine shows progress)."""

    def __iadd__(self, more: object) -> Rows:  # type: ignore[override]
        for name, value in more:  # type: ignore[attr-defined]
            print(f"  {name}: {value}", flush=True)
            self.append((name, value))
        return self


def sweep_rows(logdir: str, runs: int, metrics: int, steps: int) -> list[tuple[str, str]]:
    """The sweep measurements (see the module docstring)."""
    import httpx

    from tests.servers import LiveServer
    from tests.sweep_data import make_sweep

    t0 = time.perf_counter()
    if os.path.isdir(os.path.join(logdir, "sweep")):  # --logdir with a sweep from an earlier run
        ids = [r.id for r in seetrain.Api(logdir).runs("sweep")]
    else:
        ids = make_sweep(logdir, runs=runs, metrics=metrics, steps=steps, project="sweep")
        print(f"(generated the sweep, {runs} runs x {metrics} metrics x {steps:,} steps, in "
              f"{time.perf_counter() - t0:.0f} s)", flush=True)
    rows = Rows()
    source = LocalSource(logdir)
    live = LiveServer(create_app(source)).start()
    try:
        url = f"{live.url}/api/v1/projects/sweep"
        # What the front end asks for a 100-run chart in a ~440 px panel: fewer points per run
        # when many runs share a panel (12,000 per panel at most), values rounded to 6
        # significant digits, no wall times for a chart against steps.
        per_run = max(60, min(round(440 / max(1, (runs / 10) ** 0.5)), 12000 // runs))
        params = {"key": "train/loss", "runs": ",".join(ids), "max_points": per_run, "digits": 6,
                  "fields": "step,value,flag"}
        with httpx.Client(timeout=600) as http:
            http.get(f"{url}/runs")
            t0 = time.perf_counter()
            cold = http.get(f"{url}/metric", params={**params, "key": "val/acc"})
            cold_ms = (time.perf_counter() - t0) * 1000
            warm_ms, res = timed(lambda: http.get(f"{url}/metric", params=params), repeat=3)
            gz = res.num_bytes_downloaded
            plain = http.get(f"{url}/metric", params=params, headers={"Accept-Encoding": "identity"})
            full = http.get(f"{url}/metric", params={"key": "train/loss", "runs": params["runs"], "max_points": 1000},
                            headers={"Accept-Encoding": "identity"})
            rows += [(f"{runs}-run chart request (2nd key, first read of it)", f"{cold_ms:.0f} ms ({cold.status_code})"),
                     (f"{runs}-run chart request, again", f"{warm_ms:.0f} ms"),
                     (f"{runs}-run chart response on the wire (gzip, {per_run} pts/run, 6 digits, no wall times)",
                      f"{gz / 1024:.0f} KB (uncompressed {len(plain.content) / 1024:.0f} KB; "
                      f"before: 1000 pts/run, 17 digits, no gzip {len(full.content) / 1024:.0f} KB)")]
            bparams = {"key": "train/loss", "group_by": "config:optimizer", "bins": 150}
            t0 = time.perf_counter()
            b = http.get(f"{url}/bands", params={**bparams, "key": "extra/m2"})
            bcold = (time.perf_counter() - t0) * 1000
            http.get(f"{url}/bands", params=bparams)
            bwarm, _ = timed(lambda: http.get(f"{url}/bands", params=bparams), repeat=3)
            rows += [(f"group {runs} runs into {len(b.json()['groups'])} bands server-side (key not read before)",
                      f"{bcold:.0f} ms"),
                     (f"group {runs} runs into 5 bands, cached", f"{bwarm:.1f} ms")]
    finally:
        live.stop()
    if os.path.exists("/usr/bin/chromium"):
        # The browser measures against `seetrain ui` in its own process, as a user runs it (a
        # server thread in this process would share its interpreter with Playwright's driver).
        with ui_process(logdir) as base:
            rows.extend(browser_sweep(base))  # printed as measured already
    return rows


@contextlib.contextmanager
def ui_process(logdir: str) -> Iterator[str]:
    import httpx

    from tests.servers import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "seetrain.cli", "ui", "--logdir", logdir, "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/v1/projects", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("seetrain ui did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def browser_sweep(base: str) -> list[tuple[str, str]]:
    """First 6 panels drawn after navigation; redraw after smoothing and grouping changes."""
    from playwright.sync_api import sync_playwright

    from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS

    six = "document.querySelectorAll('.panel canvas').length >= 6"
    out = Rows()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        # Tall enough for six panels under the sweep card (they load when scrolled into view).
        page = browser.new_page(viewport={"width": 1920, "height": 1600})
        draws = []
        for _ in range(3):
            page.goto("about:blank")
            t0 = time.perf_counter()
            page.goto(f"{base}/#/project/sweep?smooth=0.6")
            page.wait_for_function(six, timeout=600_000, polling=10)
            draws.append((time.perf_counter() - t0) * 1000)
        out += [("first 6 panels drawn after navigation (100 runs each; median of 3, first)",
                 f"{statistics.median(draws):.0f} ms (first {draws[0]:.0f} ms)")]
        smooth_ms = page.evaluate("""async () => {
          const s = document.querySelector('.smooth-slider');
          const times = [];
          for (const v of ['0.8', '0.3', '0.9']) {
            const t0 = performance.now();
            s.value = v; s.dispatchEvent(new Event('input'));
            await new Promise((r) => setTimeout(r, 31));  // the slider's 30 ms debounce, then the redraw runs
            await new Promise((r) => requestAnimationFrame(() => r()));
            times.push(performance.now() - t0 - 30);
          }
          return times.sort((a, b) => a - b)[1];
        }""")
        panels = page.evaluate("document.querySelectorAll('.panel canvas').length")
        out += [(f"redraw the panels in view after a smoothing change ({panels} drawn; excl. 30 ms debounce)",
                 f"{smooth_ms:.0f} ms")]
        # Grouping: the panels in view draw bands (from the lines they hold, then the server's
        # /bands answer replaces them); timed in the page from the change to the frame in which
        # every panel in view shows its groups, like the smoothing redraw.
        group_ms = """async (value) => {
          const inView = () => [...document.querySelectorAll('.panel')].filter((p) => {
            const r = p.getBoundingClientRect();
            return p.querySelector('canvas') && r.bottom > 0 && r.top < innerHeight; });
          const done = (t) => (value ? t.includes('groups') : !t.includes('groups'));
          const sel = document.querySelector('.group-by');
          const t0 = performance.now();
          sel.value = value; sel.dispatchEvent(new Event('change'));
          for (;;) {
            await new Promise((r) => requestAnimationFrame(() => r()));
            const shown = inView();
            if (shown.length && shown.every((p) => done(p.querySelector('.panel-info').textContent)))
              return [performance.now() - t0, shown.length];
          }
        }"""
        times: dict[str, list[float]] = {"config:optimizer": [], "": []}
        for value in ["config:optimizer", ""] * 4:
            page.wait_for_timeout(1500)  # the server's answers of the previous change have come
            ms, shown = page.evaluate(group_ms, value)
            times[value].append(ms)
        for label, value in (("as 5 bands after a grouping change", "config:optimizer"),
                             ("back to 100 lines after ungrouping", "")):
            ts = times[value]
            out += [(f"redraw the {shown} panels in view {label} (median of {len(ts)}; first, all)",
                     f"{statistics.median(ts):.0f} ms (first {ts[0]:.0f} ms; {', '.join(f'{t:.0f}' for t in ts)})")]
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", type=int, default=1_000_000, help="0 skips the 1M-point part")
    ap.add_argument("--runs", type=int, default=1000, help="0 skips the runs-table and browser part")
    ap.add_argument("--sweep", type=int, default=100, help="runs in the generated sweep; 0 skips it")
    ap.add_argument("--sweep-metrics", type=int, default=20)
    ap.add_argument("--sweep-steps", type=int, default=5000)
    ap.add_argument("--logdir", default=None, help="keep the generated data here (and reuse a sweep found there)")
    args = ap.parse_args()
    os.environ.setdefault("SEETRAIN_SYSTEM_MONITOR", "0")
    os.environ.setdefault("SEETRAIN_CAPTURE_CONSOLE", "0")
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        logdir = args.logdir or tmp
        os.makedirs(logdir, exist_ok=True)
        if args.sweep:
            rows += sweep_rows(logdir, args.sweep, args.sweep_metrics, args.sweep_steps)
        if args.points:
            rows += points_rows(logdir, args.points)
        rows += runs_rows(logdir, args.runs)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)}  result")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


def points_rows(logdir: str, points: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if True:
        rid, log_s = big_metric_run(logdir, points)
        print(f"(logged {points:,} points through seetrain.log + finish in {log_s:.1f} s)")
        n = points
        full = {"key": "loss", "max_points": 1000}
        zoom10k = {**full, "x_min": 4 * n // 10, "x_max": 4 * n // 10 + n // 100}
        zoom100k = {**full, "x_min": n // 4, "x_max": n // 4 + n // 10}
        for project, label in (("bench", ""),):
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
            z1, zres = timed(lambda: get(zoom10k))
            z1c, _ = timed(lambda: get(zoom10k), repeat=5)
            z2, zres2 = timed(lambda: get(zoom100k))
            live, _ = timed(lambda: get({"key": "loss", "after_step": n - 100}), repeat=5)
            rows += [(f"zoom, {zres['in_range']:,} points in range, first / cached",
                      f"{z1:.1f} / {z1c:.1f} ms ({len(zres['step'])} pts)"),
                     (f"zoom, {zres2['in_range']:,} points in range, first",
                      f"{z2:.1f} ms ({len(zres2['step'])} pts)"),
                     ("live poll (after_step, 99 new points)", f"{live:.1f} ms")]
    return rows


def runs_rows(logdir: str, n_runs: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    if True:
        make_s = 0.0
        if n_runs:
            t0 = time.perf_counter()
            many_runs(logdir, n_runs)
            make_s = time.perf_counter() - t0
            source = LocalSource(logdir)
            client = TestClient(create_app(source))
            cold, out = timed(lambda: client.get("/api/v1/projects/many/runs").json())
            warm, _ = timed(lambda: client.get("/api/v1/projects/many/runs").json(), repeat=5)
            rows += [(f"runs table, {len(out):,} runs, first request", f"{cold:.0f} ms"),
                     (f"runs table, {len(out):,} runs, cached rows", f"{warm:.0f} ms")]
            if os.path.exists("/usr/bin/chromium"):
                from tests.servers import LiveServer

                server = LiveServer(create_app(source)).start()
                try:
                    fcp, table = first_paint(f"{server.url}/#/project/many")
                finally:
                    server.stop()
                rows += [(f"project page ({n_runs:,} runs), first contentful paint", f"{fcp:.0f} ms"),
                         (f"project page ({n_runs:,} runs), table rendered", f"{table:.0f} ms")]
            print(f"(created {n_runs} runs in {make_s:.1f} s)")
    return rows


if __name__ == "__main__":
    main()
