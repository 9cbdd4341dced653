"""Per-call cost of ``seetrain.log`` side by side with peer trackers and a bare ``queue.put``.

    .venv/bin/python -m benchmarks.log_overhead              # every tracker importable here
    .venv/bin/python -m benchmarks.log_overhead --quick      # smaller budgets, ~1 minute
    bash scripts/bench_peers.sh                              # same, in a venv with all peers

Scenarios: ``narrow`` (10 scalars x 20,000 steps), ``wide`` (1,000 scalars x 200 steps) and
``image`` (one 256x256 RGB image x 200 steps). Every (tracker, scenario) runs in its own
subprocess so imports, threads and peak RSS do not leak from one tracker into the next. Each
reports per-call median/mean/p99 in microseconds (perf_counter_ns around every call, after a
warm-up), the time of ``finish``, peak RSS (the process plus any helper process it started),
bytes on disk, and the points the tracker's own reader gives back. A slow peer stops after
``--budget`` seconds of logging: its per-call numbers stay comparable, its totals are smaller.

SIGKILL: a subprocess logs 10 scalars per step at a steady 200 steps/s for 2 s and kills itself
(signal 9) right after the last call; another process then reads back what survived. SeeTrain
also gets a burst variant (200,000 points as fast as it can, then kill).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from benchmarks._peers import PEERS, QUIET_ENV, TRACKERS, available, tmp_env

SCENARIOS: dict[str, dict[str, int]] = {
    "narrow": {"width": 10, "steps": 20_000, "warmup": 500},
    "wide": {"width": 1_000, "steps": 200, "warmup": 5},
    "image": {"width": 1, "steps": 200, "warmup": 5},
}
KILL_RATE = 200  # steps per second in the paced SIGKILL test
KILL_SECONDS = 2.0
KILL_WIDTH = 10
BURST_STEPS = 20_000


# ---- child side -------------------------------------------------------------------------------
def _make_rows(width: int, steps: int) -> list[dict[str, float]]:
    keys = [f"metric_{j:04d}" for j in range(width)]
    return [{k: i * 0.001 + j for j, k in enumerate(keys)} for i in range(steps)]


def _make_images(steps: int) -> list[Any]:
    import numpy as np

    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:256, 0:256]
    base = np.stack([xx, yy, (xx + yy) // 2], axis=-1).astype(np.int16)
    return [np.clip(base + rng.integers(-8, 8, base.shape) + i, 0, 255).astype(np.uint8)
            for i in range(steps)]


def _tree_rss() -> int:
    """RSS of the helper processes this one started (wandb-core, aim, ...), in bytes."""
    try:
        import psutil
    except ImportError:
        return 0
    total = 0
    for child in psutil.Process().children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            continue
    return total


def _dir_bytes(path: str) -> int:
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.path.getsize(os.path.join(root, name))
            except OSError:
                continue
    return total


def run_child(tracker_id: str, scenario: str, tmpdir: str, budget: float) -> dict[str, Any]:
    spec = SCENARIOS[scenario]
    steps, width, warmup = spec["steps"], spec["width"], spec["warmup"]
    images = _make_images(steps) if scenario == "image" else None
    rows = None if images is not None else _make_rows(width, steps)
    tracker = TRACKERS[tracker_id]()
    t0 = time.perf_counter()
    tracker.setup(tmpdir)
    setup_s = time.perf_counter() - t0
    if images is not None:
        call, args = tracker.log_image, [(i, "image", images[i]) for i in range(steps)]
    else:
        call, args = tracker.log, [(i, rows[i]) for i in range(steps)]
    for i in range(warmup):
        call(*args[i])
    pc = time.perf_counter_ns
    times: list[int] = []
    append = times.append
    deadline = pc() + int(budget * 1e9)
    done = warmup
    for i in range(warmup, steps):
        a = args[i]
        t_start = pc()
        call(*a)
        t_end = pc()
        append(t_end - t_start)
        done = i + 1
        if t_end > deadline:
            break
    helpers_rss = _tree_rss()
    t0 = time.perf_counter()
    tracker.finish()
    finish_s = time.perf_counter() - t0
    helpers_rss = max(helpers_rss, _tree_rss())
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 + helpers_rss
    logged_points = done * width if images is None else 0
    logged_images = done if images is not None else 0
    read_back = tracker.images_read_back() if images is not None else tracker.points_read_back()
    us = [t / 1000 for t in times]
    return {
        "tracker": tracker.name, "id": tracker_id, "scenario": scenario, "steps": done,
        "width": width, "points": logged_points, "images": logged_images,
        "median_us": statistics.median(us), "mean_us": statistics.fmean(us),
        "p99_us": sorted(us)[int(len(us) * 0.99)] if us else None,
        "setup_s": setup_s, "finish_s": finish_s, "peak_rss_mb": peak_rss / 2**20,
        "disk_mb": _dir_bytes(tmpdir) / 2**20, "read_back": read_back,
        "expected_back": logged_points if images is None else logged_images,
    }


def kill_child(tracker_id: str, tmpdir: str, mode: str) -> None:
    """Log, then SIGKILL ourselves right after the last call: nothing runs in between."""
    tracker = TRACKERS[tracker_id]()
    tracker.setup(tmpdir)
    if mode == "burst":
        rows = _make_rows(KILL_WIDTH, BURST_STEPS)
        for i, row in enumerate(rows):
            tracker.log(i, row)
    else:
        steps = int(KILL_RATE * KILL_SECONDS)
        rows = _make_rows(KILL_WIDTH, steps)
        period = 1.0 / KILL_RATE
        start = time.perf_counter()
        for i, row in enumerate(rows):
            wait = start + i * period - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            tracker.log(i, row)
    os.kill(os.getpid(), 9)


def readback_child(tracker_id: str, tmpdir: str) -> dict[str, Any]:
    tracker = TRACKERS[tracker_id]()
    tracker.attach(tmpdir)
    return {"read_back": tracker.points_read_back()}


# ---- parent side ------------------------------------------------------------------------------
def _env(tmpdir: str) -> dict[str, str]:
    env = {**os.environ, **QUIET_ENV, **tmp_env(tmpdir)}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("SEETRAIN_LOGDIR", None)
    env.pop("SEETRAIN_MODE", None)
    return env


def _spawn(args: list[str], tmpdir: str, timeout: float = 300) -> tuple[int, dict[str, Any] | None, str]:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.log_overhead", *args],
                          env=_env(tmpdir), cwd=tmpdir, capture_output=True, text=True, timeout=timeout)
    result = None
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[7:])
    return proc.returncode, result, proc.stderr


def measure(tracker_id: str, scenario: str, budget: float) -> dict[str, Any]:
    tmpdir = tempfile.mkdtemp(prefix=f"bench-{tracker_id}-{scenario}-")
    try:
        rc, result, err = _spawn(["--child", tracker_id, scenario, tmpdir, str(budget)], tmpdir)
        if result is None:
            return {"id": tracker_id, "tracker": TRACKERS[tracker_id].name, "scenario": scenario,
                    "error": (err.strip().splitlines() or [f"exit {rc}"])[-1][:200]}
        return result
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def measure_kill(tracker_id: str, mode: str) -> dict[str, Any]:
    tmpdir = tempfile.mkdtemp(prefix=f"bench-kill-{tracker_id}-")
    try:
        rc, _, err = _spawn(["--kill-child", tracker_id, tmpdir, mode], tmpdir)
        steps = BURST_STEPS if mode == "burst" else int(KILL_RATE * KILL_SECONDS)
        out: dict[str, Any] = {"id": tracker_id, "mode": mode, "total": steps * KILL_WIDTH, "exit": rc}
        if rc != -9:
            out["error"] = (err.strip().splitlines() or [f"exit {rc}"])[-1][:200]
            return out
        _, result, err = _spawn(["--readback", tracker_id, tmpdir], tmpdir)
        out["survived"] = None if result is None else result["read_back"]
        if result is None:
            out["error"] = (err.strip().splitlines() or ["reader failed"])[-1][:200]
        return out
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def machine() -> dict[str, Any]:
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "platform": platform.platform()}


def _fmt(v: Any, spec: str = ".1f") -> str:
    if v is None:
        return "n/a"
    return format(v, spec)


def render(results: list[dict[str, Any]], kills: list[dict[str, Any]]) -> str:
    lines: list[str] = []
    by = {(r["id"], r["scenario"]): r for r in results}
    for scenario, spec in SCENARIOS.items():
        floor = by.get(("queue", scenario), {})
        ours = by.get(("seetrain", scenario), {})
        unit = "per image" if scenario == "image" else f"per call of {spec['width']} scalars"
        lines.append(f"\n### {scenario}: {spec['width'] if scenario != 'image' else 'one 256x256 image'}"
                     f" x {spec['steps']:,} steps (us {unit})\n")
        lines.append("| tracker | steps | median us | mean us | p99 us | x floor (median) | "
                     "peer / seetrain (median) | finish s | peak RSS MB | disk MB | read back |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for tid in TRACKERS:
            r = by.get((tid, scenario))
            if r is None:
                continue
            if "error" in r:
                lines.append(f"| {r['tracker']} | failed: {r['error']} |||||||||| ")
                continue
            x_floor = r["median_us"] / floor["median_us"] if floor.get("median_us") else None
            x_ours = r["median_us"] / ours["median_us"] if ours.get("median_us") else None
            back = "n/a" if r["read_back"] is None else \
                f"{r['read_back']:,}/{r['expected_back']:,} ({100 * r['read_back'] / max(r['expected_back'], 1):.0f}%)"
            lines.append(
                f"| {r['tracker']} | {r['steps']:,} | {_fmt(r['median_us'], '.2f')} | {_fmt(r['mean_us'], '.2f')} | "
                f"{_fmt(r['p99_us'], '.1f')} | {_fmt(x_floor, '.1f')} | {_fmt(x_ours, '.1f')} | "
                f"{_fmt(r['finish_s'], '.3f')} | {_fmt(r['peak_rss_mb'], '.0f')} | {_fmt(r['disk_mb'], '.1f')} | {back} |")
    if kills:
        interval = float(os.environ.get("SEETRAIN_FLUSH_INTERVAL", "0.2"))
        per_interval = int(KILL_RATE * interval * KILL_WIDTH)
        lines.append(f"\n### SIGKILL right after the last log call ({KILL_WIDTH} scalars/step; paced = "
                     f"{KILL_RATE} steps/s for {KILL_SECONDS:.0f} s; one SeeTrain flush interval "
                     f"({interval} s) at that rate = {per_interval:,} points)\n")
        lines.append("| tracker | mode | survived / logged | lost points | lost as seconds of logging |")
        lines.append("|---|---|---:|---:|---:|")
        for k in kills:
            name = TRACKERS[k["id"]].name
            if k.get("survived") is None:
                lines.append(f"| {name} | {k['mode']} | {k.get('error', 'no reader')} | | |")
                continue
            lost = k["total"] - k["survived"]
            secs = f"{lost / (KILL_RATE * KILL_WIDTH):.2f}" if k["mode"] == "paced" else "-"
            lines.append(f"| {name} | {k['mode']} | {k['survived']:,}/{k['total']:,} "
                         f"({100 * k['survived'] / k['total']:.0f}%) | {lost:,} | {secs} |")
    return "\n".join(lines)


def targets(results: list[dict[str, Any]], kills: list[dict[str, Any]]) -> str:
    by = {(r["id"], r["scenario"]): r for r in results if "error" not in r}
    ours, floor = by.get(("seetrain", "narrow")), by.get(("queue", "narrow"))
    out = ["\n### Targets\n"]
    if ours and floor:
        ratio = ours["median_us"] / floor["median_us"]
        ratio_mean = ours["mean_us"] / floor["mean_us"]
        out.append(f"- narrow log call (journal included) vs bare queue.put: {ratio:.1f}x median, "
                   f"{ratio_mean:.1f}x mean (target <= 2x): {'met' if ratio <= 2 else 'MISSED'}")
        peers = [by[(p, "narrow")] for p in PEERS if (p, "narrow") in by]
        if peers:
            fastest = min(peers, key=lambda r: r["median_us"])
            f_ratio = fastest["median_us"] / ours["median_us"]
            out.append(f"- fastest peer ({fastest['tracker']}, {fastest['median_us']:.1f} us) / seetrain "
                       f"({ours['median_us']:.2f} us): {f_ratio:.0f}x (target >= 20x): "
                       f"{'met' if f_ratio >= 20 else 'MISSED'}")
    wide = by.get(("seetrain", "wide"))
    if wide:
        out.append(f"- 1,000 scalars per call: {wide['median_us']:.1f} us median (target <= 30 us): "
                   f"{'met' if wide['median_us'] <= 30 else 'MISSED'}")
    for scen in SCENARIOS:
        r = by.get(("seetrain", scen))
        if r:
            ok = r["read_back"] == r["expected_back"]
            out.append(f"- read back via Api after normal finish ({scen}): {r['read_back']:,}/"
                       f"{r['expected_back']:,}: {'met' if ok else 'MISSED'}")
    for k in kills:
        if k["id"] == "seetrain" and k.get("survived") is not None:
            share = k["survived"] / k["total"]
            need = 1.0 if k["mode"] == "paced" else 0.999
            out.append(f"- SIGKILL ({k['mode']}): {k['survived']:,}/{k['total']:,} points readable after "
                       f"recovery = {100 * share:.2f}% (target >= {100 * need:g}%): "
                       f"{'met' if share >= need else 'MISSED'}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trackers", help="comma-separated ids (default: every importable one): "
                        + ",".join(TRACKERS))
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--budget", type=float, default=5.0,
                        help="seconds of logging per (peer, scenario) before it stops early")
    parser.add_argument("--quick", action="store_true", help="budget 1.5 s, no SIGKILL runs for peers")
    parser.add_argument("--no-kill", action="store_true", help="skip the SIGKILL runs")
    parser.add_argument("--json", help="also write the raw results to this file")
    parser.add_argument("--child", nargs=4, metavar=("TRACKER", "SCENARIO", "TMPDIR", "BUDGET"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--kill-child", nargs=3, metavar=("TRACKER", "TMPDIR", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument("--readback", nargs=2, metavar=("TRACKER", "TMPDIR"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        tid, scen, tmpdir, budget = args.child
        print("RESULT " + json.dumps(run_child(tid, scen, tmpdir, float(budget))), flush=True)
        return 0
    if args.kill_child:
        kill_child(*args.kill_child)
        return 1  # not reached
    if args.readback:
        print("RESULT " + json.dumps(readback_child(*args.readback)), flush=True)
        return 0

    budget = 1.5 if args.quick else args.budget
    present = available()
    wanted = args.trackers.split(",") if args.trackers else present
    ids = [t for t in TRACKERS if t in wanted and t in present]
    missing = [t for t in wanted if t not in present]
    info = machine()
    print(f"# log_overhead on {info['nproc']} cores, {info['cpu']}, Python {info['python']}")
    print(f"# trackers: {', '.join(ids)}" + (f"; not installed: {', '.join(missing)}" if missing else ""))
    started = time.perf_counter()
    results: list[dict[str, Any]] = []
    for scen in args.scenarios.split(","):
        for tid in ids:
            t0 = time.perf_counter()
            r = measure(tid, scen, budget)
            results.append(r)
            note = r.get("error") or f"median {r['median_us']:.2f} us, finish {r['finish_s']:.3f} s"
            print(f"  {scen:6s} {tid:14s} {note} ({time.perf_counter() - t0:.1f} s)", flush=True)
    kills: list[dict[str, Any]] = []
    if not args.no_kill:
        kill_ids = [t for t in ids if t != "queue" and (not args.quick or t == "seetrain")]
        for tid in kill_ids:
            if not TRACKERS[tid].has_reader:
                continue  # nothing to count after the kill
            kills.append(measure_kill(tid, "paced"))
            print(f"  sigkill {tid:14s} {kills[-1].get('survived')}/{kills[-1]['total']}", flush=True)
        if "seetrain" in ids:
            kills.append(measure_kill("seetrain", "burst"))
    from benchmarks.import_time import measure_import

    imp = measure_import(runs=7)
    print(render(results, kills))
    print(targets(results, kills))
    print(f"- import seetrain: {imp['import_ms']:.0f} ms median ({imp['net_ms']:.0f} ms over bare "
          f"interpreter start), frameworks imported: {imp['frameworks'] or 'none'} (target < 100 ms): "
          f"{'met' if imp['net_ms'] < 100 and not imp['frameworks'] else 'MISSED'}")
    print(f"\n# total {time.perf_counter() - started:.0f} s")
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "results": results, "kills": kills, "import": imp}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
