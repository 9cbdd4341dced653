"""Load on the tracking server: N client processes log concurrently in ``online`` mode.

Each client logs ``--steps`` steps of ``--keys`` scalars and calls ``finish()``, which waits
until the server has acknowledged everything. Reported per database:

* sustained points/s: all points of all clients / wall time from the first client's first
  ``log()`` until every client got its last acknowledgement (interpreter start-up excluded);
* ratio: that rate over the rate of a bare ``sqlite3.executemany`` of one-row-per-point
  inserts (batches of 10,000, a commit each) measured in the same run on the same machine,
  so the number means the same on a fast or a loaded box (budget: >= 0.3);
* ingest latency: p50/p99 of the HTTP round trip of each acknowledged ingest request
  (a batch of up to 10,000 points as packed chunks), measured in the clients (budget p99 <= 250 ms).

    .venv/bin/python benchmarks/server_load.py                    # SQLite and PostgreSQL
    .venv/bin/python benchmarks/server_load.py --db sqlite --clients 8 --steps 20000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TOKEN = "bench-token"


def client(url: str, logdir: str, steps: int, keys: int, rank: int) -> None:
    import seetrain

    run = seetrain.init(project="load", logdir=logdir, mode="online", host=url, group="bench",
                        upload_timeout=600, experiment_name=f"client-{rank}")
    names = [f"metric_{k}" for k in range(keys)]
    started = time.time()
    t0 = time.perf_counter()
    for step in range(steps):
        run.log({name: step * 0.001 + k for k, name in enumerate(names)})
    logged = time.perf_counter() - t0
    transport = run._replicator.transport
    run.finish()
    print(json.dumps({"points": steps * keys, "log_s": logged, "latencies": list(transport.latencies),
                      "sent": run.get_stats().get("upload_records_sent", 0), "started": started,
                      "done": time.time()}))


def bare_executemany(points: int, batch: int = 10_000) -> float:
    """Points/s of plain sqlite3.executemany, one row per point (the budget's yardstick)."""
    import sqlite3

    with tempfile.TemporaryDirectory(prefix="seetrain-bare-") as tmp:
        conn = sqlite3.connect(os.path.join(tmp, "bare.sqlite"))
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("CREATE TABLE points (run INTEGER, seq INTEGER, key TEXT, step INTEGER, ts REAL, value REAL)")
        rows = [(1, s, f"metric_{s % 10}", s // 10, 1.7e9 + s * 1e-3, s * 0.5) for s in range(batch)]
        t0 = time.perf_counter()
        for _ in range(max(1, points // batch)):
            conn.executemany("INSERT INTO points VALUES (?, ?, ?, ?, ?, ?)", rows)
            conn.commit()
        elapsed = time.perf_counter() - t0
        conn.close()
    return max(1, points // batch) * batch / elapsed


def overlay(db_url: str, runs: int = 8, points: int = 200_000, chunk: int = 1000) -> dict:
    """An overlay chart (one key of ``runs`` runs, ``points`` each) read from the server
    database through the dashboard's source: first request (cold, every chunk read) and
    repeated (warm, the series cache checks for new points only)."""
    import numpy as np

    from seetrain.server.db import Database
    from seetrain.server.db_source import DbSource

    db = Database(db_url)
    try:
        for r in range(runs):
            with db.writer() as conn:
                pk = db.upsert_run(conn, "overlay", f"run-{r}", {"status": "finished", "created_at": 1.7e9}, 1.0)
                seq = np.arange(1, points + 1, dtype=np.int64)
                cols = [(seq[i:i + chunk], seq[i:i + chunk] - 1, 1.7e9 + seq[i:i + chunk] * 0.01,
                         np.sin(seq[i:i + chunk] / 1000.0) + r) for i in range(0, points, chunk)]
                from seetrain.storage.chunks import Columns

                db.insert_chunks(conn, pk, [("loss", Columns(*c)) for c in cols])
        times = []
        source = DbSource(db, tempfile.gettempdir())
        for _ in range(4):
            t0 = time.perf_counter()
            out = {rid: source.metric("overlay", rid, "loss", max_points=2000) for rid in
                   (f"run-{r}" for r in range(runs))}
            times.append(time.perf_counter() - t0)
            assert all(v is not None and v["total"] == points for v in out.values())
    finally:
        db.dispose()
    return {"cold_ms": times[0] * 1e3, "warm_ms": min(times[1:]) * 1e3}


TIGHT = """
import sys, time
import seetrain
run = seetrain.init(project="tight", logdir=sys.argv[1], mode="online", host=sys.argv[2])
t0 = time.perf_counter()
for i in range(int(sys.argv[3])):
    seetrain.log({"loss": 1.0 / (i + 1)})
t1 = time.perf_counter()
seetrain.finish()
t2 = time.perf_counter()
stats = seetrain.Api(sys.argv[1]).run(run.dir).stats
print(f"{t1 - t0:.3f} {t2 - t1:.3f} {stats.get('upload_records_sent', 0)} {stats.get('upload_kept_locally', -1)}")
"""


def tight_loop(points: int = 200_000) -> dict:
    """One client logging ``points`` in a tight loop with the default upload timeout: how long
    ``finish()`` takes and whether everything was uploaded by then."""
    from tests.e2e.pg_fixture import ServerProcess

    with tempfile.TemporaryDirectory(prefix="seetrain-tight-") as tmp:
        server = ServerProcess(f"sqlite:///{tmp}/server.sqlite", Path(tmp) / "media").start()
        try:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "SEETRAIN_SYSTEM_MONITOR": "0",
                   "SEETRAIN_CAPTURE_CONSOLE": "0"}
            env.pop("SEETRAIN_UPLOAD_TIMEOUT", None)
            out = subprocess.run([sys.executable, "-c", TIGHT, f"{tmp}/logs", server.url, str(points)],
                                 env=env, capture_output=True, text=True, timeout=600, check=True)
        finally:
            server.stop()
    log_s, finish_s, sent, kept = out.stdout.split()
    return {"points": points, "log_s": float(log_s), "finish_s": float(finish_s), "sent": int(sent),
            "kept_locally": int(kept)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run_load(db_url: str, label: str, clients: int, steps: int, keys: int, workers: int) -> dict:
    from tests.e2e.pg_fixture import ServerProcess

    with tempfile.TemporaryDirectory(prefix="seetrain-load-") as tmp:
        server = ServerProcess(db_url.replace("{tmp}", tmp), Path(tmp) / "media", token=TOKEN,
                               args=("--workers", str(workers)) if workers > 1 else ())
        server.start()
        try:
            env = {**os.environ, "PYTHONPATH": str(ROOT), "SEETRAIN_API_KEY": TOKEN,
                   "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"}
            start = time.perf_counter()
            procs = [subprocess.Popen([sys.executable, __file__, "--client", server.url, f"{tmp}/logs",
                                       str(steps), str(keys), str(rank)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for rank in range(clients)]
            results = []
            for proc in procs:
                out, err = proc.communicate(timeout=900)
                if proc.returncode != 0:
                    raise RuntimeError(f"client failed: {err[-2000:]}")
                results.append(json.loads(out.strip().splitlines()[-1]))
            wall = time.perf_counter() - start
            import psutil

            cpu = psutil.Process(server.proc.pid).cpu_times()
            server_cpu = cpu.user + cpu.system
        finally:
            server.stop()
    sustained = max(r["done"] for r in results) - min(r["started"] for r in results)
    points = sum(r["points"] for r in results)
    sent = sum(r["sent"] for r in results)
    lat = [x for r in results for x in r["latencies"]]
    return {"db": label, "clients": clients, "points": points, "uploaded": sent, "wall_s": sustained,
            "process_wall_s": wall, "points_per_s": points / sustained, "requests": len(lat),
            "server_cpu_s": server_cpu, "p50_ms": percentile(lat, 50) * 1e3,
            "p99_ms": percentile(lat, 99) * 1e3, "log_us_per_step": 1e6 * max(r["log_s"] for r in results) / steps}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--client", nargs=5, metavar=("URL", "LOGDIR", "STEPS", "KEYS", "RANK"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--keys", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of the server")
    parser.add_argument("--json", action="store_true", help="also print the results as one JSON line")
    parser.add_argument("--tight", action="store_true",
                        help="only measure one client logging 200k points in a tight loop, then finish()")
    parser.add_argument("--overlay", action="store_true",
                        help="only measure an overlay chart of 8 runs x 200k points from the server database")
    args = parser.parse_args()
    if args.client:
        url, logdir, steps, keys, rank = args.client
        client(url, logdir, int(steps), int(keys), int(rank))
        return
    if args.tight:
        got = tight_loop()
        print(f"200,000 points in a tight loop: log {got['log_s']:.2f} s, finish() {got['finish_s']:.2f} s "
              f"(default upload timeout 5 s), sent {got['sent']}, kept locally {got['kept_locally']}")
        return
    if args.overlay:
        with tempfile.TemporaryDirectory(prefix="seetrain-overlay-") as tmp:
            got = overlay(f"sqlite:///{tmp}/server.sqlite")
        print(f"overlay of 8 runs x 200,000 points (SQLite): first request {got['cold_ms']:.0f} ms, "
              f"repeated {got['warm_ms']:.0f} ms")
        return
    rows = []
    bare = bare_executemany(args.clients * args.steps * args.keys)
    if args.db in ("sqlite", "both"):
        rows.append(run_load("sqlite:///{tmp}/server.sqlite", "SQLite", args.clients, args.steps, args.keys,
                             args.workers))
    if args.db in ("postgres", "both"):
        from tests.e2e.pg_fixture import fresh_database, postgres_base_url

        with contextlib.ExitStack() as stack:
            try:
                base = stack.enter_context(postgres_base_url())
            except BaseException as exc:  # pytest.skip outside pytest: report and go on
                print(f"PostgreSQL skipped: {exc}")
            else:
                url = stack.enter_context(fresh_database(base))
                rows.append(run_load(url, "PostgreSQL", args.clients, args.steps, args.keys, args.workers))
    print(f"\n{args.clients} clients x {args.steps} steps x {args.keys} scalars, server workers={args.workers}")
    print(f"bare sqlite3.executemany, one row per point: {bare:,.0f} points/s")
    print(f"{'database':11s} {'points':>9s} {'uploaded':>9s} {'wall s':>7s} {'points/s':>10s} {'ratio':>6s} "
          f"{'requests':>8s} {'p50 ms':>7s} {'p99 ms':>7s}")
    for r in rows:
        print(f"{r['db']:11s} {r['points']:9d} {r['uploaded']:9d} {r['wall_s']:7.2f} {r['points_per_s']:10.0f} "
              f"{r['points_per_s'] / bare:6.2f} {r['requests']:8d} {r['p50_ms']:7.1f} {r['p99_ms']:7.1f}"
              f"   (server CPU {r['server_cpu_s']:.1f} s, log() {r['log_us_per_step']:.0f} us/step)")
    if args.json:
        print(json.dumps({"bare_points_per_s": bare, "rows": rows}))


if __name__ == "__main__":
    main()
