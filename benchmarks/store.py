"""The local store against bare floors, in one run on one machine (ratios, not absolute times).

    .venv/bin/python -m benchmarks.store            # ~1 min
    .venv/bin/python -m benchmarks.store --repeats 5

- ``finish()`` after a burst of 200,000 points (10 scalars x 20,000 calls, logged as fast as the
  loop goes) against a bare ``sqlite3.executemany`` of the same 200,000 points one row each
  (WAL, synchronous=NORMAL, one secondary index): target <= 0.5x.
- Writer CPU per point: the CPU time of the writer thread (``time.thread_time`` inside it, via
  the store's own counters) divided by the points it wrote: target <= 0.3 us.
- Full history of one 1,000,000-point metric through ``Api``: ``RunView.columns`` (numpy) and
  ``history_df``: target <= 50 ms for ``columns``.
- 10-scalar ``log()`` vs ``queue.put``, interleaved rounds so machine load cancels out.

Each figure is the median of ``--repeats`` runs; every run uses a fresh temporary logdir.
"""

from __future__ import annotations

import argparse
import os
import queue
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time

os.environ.setdefault("SEETRAIN_SYSTEM_MONITOR", "0")
os.environ.setdefault("SEETRAIN_CAPTURE_CONSOLE", "0")

import seetrain  # noqa: E402

POINTS = 200_000
WIDTH = 10


def bare_executemany(tmp: str, n: int = POINTS) -> float:
    path = os.path.join(tmp, "bare.sqlite")
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE s (seq INTEGER PRIMARY KEY, key_id INTEGER, step INTEGER, ts REAL, value REAL)")
    conn.execute("CREATE INDEX s_key ON s (key_id)")
    now = time.time()
    rows = [(i + 1, i % WIDTH, i // WIDTH, now, i * 0.5) for i in range(n)]
    t0 = time.perf_counter()
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO s VALUES (?, ?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    took = time.perf_counter() - t0
    conn.close()
    return took


def burst_finish(tmp: str) -> tuple[float, float, int]:
    """(finish seconds, writer CPU seconds, points written)."""
    from seetrain.storage import writer as _writer

    cpu = {"s": 0.0}
    real = _writer.Writer._flush_once

    def timed(self: _writer.Writer) -> None:
        t0 = time.thread_time()
        try:
            real(self)
        finally:
            cpu["s"] += time.thread_time() - t0

    _writer.Writer._flush_once = timed  # type: ignore[method-assign]
    try:
        run = seetrain.init(project="bench", logdir=tmp, reinit="create_new")
        row = {f"metric_{j}": 0.0 for j in range(WIDTH)}
        for i in range(POINTS // WIDTH):
            row["metric_0"] = float(i)
            run.log(row)
        t0 = time.perf_counter()
        run.finish()
        took = time.perf_counter() - t0
        written = run.get_stats()["points_written"]
    finally:
        _writer.Writer._flush_once = real  # type: ignore[method-assign]
    return took, cpu["s"], written


def million_read(tmp: str) -> tuple[float, float]:
    run = seetrain.init(project="big", logdir=tmp, reinit="create_new")
    for i in range(1_000_000 // 4):
        run.log({"loss": i * 1e-6, "a": 1.0, "b": 2.0, "c": 3.0})
    for i in range(1_000_000 - 1_000_000 // 4):
        run.log({"loss": i * 1e-6})
    run.finish()
    view = seetrain.Api(tmp).run(run.id)
    t0 = time.perf_counter()
    cols = view.columns("loss")
    t_cols = time.perf_counter() - t0
    assert cols is not None and len(cols) == 1_000_000
    t0 = time.perf_counter()
    df = view.history_df(["loss"])
    t_df = time.perf_counter() - t0
    assert len(df) == 1_000_000
    return t_cols, t_df


def log_vs_put(tmp: str, rounds: int = 200) -> float:
    run = seetrain.init(project="hot", logdir=tmp, reinit="create_new")
    row = {f"metric_{j}": j * 0.5 for j in range(WIDTH)}
    log = run.log
    ratios = []
    for _ in range(rounds):
        q: queue.Queue[object] = queue.Queue()
        put = q.put
        t0 = time.perf_counter()
        for _ in range(1000):
            put(row)
        t_put = time.perf_counter() - t0
        t0 = time.perf_counter()
        for _ in range(1000):
            log(row)
        ratios.append((time.perf_counter() - t0) / t_put)
    run.finish()
    return statistics.median(ratios)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    fin, bare, cpu_pp, cols_s, df_s, hot = [], [], [], [], [], []
    for _ in range(args.repeats):
        tmp = tempfile.mkdtemp(prefix="bench-store-")
        try:
            bare.append(bare_executemany(tmp))
            took, cpu, written = burst_finish(os.path.join(tmp, "burst"))
            fin.append(took)
            cpu_pp.append(cpu / max(written, 1) * 1e6)
            c, d = million_read(os.path.join(tmp, "million"))
            cols_s.append(c)
            df_s.append(d)
            hot.append(log_vs_put(os.path.join(tmp, "hot")))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    ratio = med(fin) / med(bare)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, median of {args.repeats}")
    print(f"- finish() after a {POINTS:,}-point burst: {med(fin):.3f} s; bare executemany of the same points "
          f"one row each: {med(bare):.3f} s; ratio {ratio:.2f}x (target <= 0.5x): "
          f"{'met' if ratio <= 0.5 else 'MISSED'}")
    print(f"- writer CPU per point: {med(cpu_pp):.3f} us (target <= 0.3 us): "
          f"{'met' if med(cpu_pp) <= 0.3 else 'MISSED'}")
    print(f"- 1,000,000-point metric via Api: columns() {1000 * med(cols_s):.1f} ms (target <= 50 ms): "
          f"{'met' if med(cols_s) <= 0.05 else 'MISSED'}; history_df() {1000 * med(df_s):.1f} ms")
    print(f"- 10-scalar log() / queue.put, interleaved rounds: {med(hot):.2f}x (target <= 2x): "
          f"{'met' if med(hot) <= 2 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
