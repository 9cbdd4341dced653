"""Fault injection with real processes and real file systems: SIGKILL at random points of a
burst, a full disk (a small tmpfs, when the test runs as root), crashed-run summaries."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

import seetrain
from tests.helpers import ROOT, tmpfs

BURST = """
import os, sys, seetrain
run = seetrain.init(project="kill", logdir=os.environ["LOGDIR"])
print("started", flush=True)
for i in range(int(os.environ["N"])):
    seetrain.log({"x": float(i), "y": -float(i)})
    if i % 5000 == 0:
        print(i, flush=True)
print("done", flush=True)
import time; time.sleep(60)
"""


def _spawn(code: str, logdir: Path, **env: str) -> subprocess.Popen[str]:
    full = {"PYTHONPATH": str(ROOT), "LOGDIR": str(logdir), "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0", **env}
    return subprocess.Popen([sys.executable, "-c", code], env=full, stdout=subprocess.PIPE, text=True)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_sigkill_at_a_random_point_of_a_burst_loses_nothing(logdir, seed):
    rng = random.Random(seed)
    proc = _spawn(BURST, logdir, N="200000")
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(rng.uniform(0.0, 1.5))
    proc.kill()
    out, _ = proc.communicate(timeout=30)  # the rest of its output; reaps it and closes the pipe
    printed = [line.strip() for line in out.splitlines()]
    done = "done" in printed
    last_printed = max([int(p) for p in printed if p.isdigit()], default=-1)
    (view,) = seetrain.Api(logdir).runs("kill")
    xs = view.columns("x")
    ys = view.columns("y")
    n = len(xs) if xs is not None else 0
    # What came back is exactly the calls made, in order, once each: a prefix of the loop,
    # at least as long as what the child said it had logged.
    assert n >= last_printed + 1
    if done:
        assert n == 200_000
    if n:
        assert (xs.value == range(n)).all() and (ys.value == [-float(i) for i in range(n)]).all()
        assert (xs.step == range(n)).all()
    assert view.status == "crashed"
    assert view.summary.get("x", {}).get("count", 0) == n


def test_paced_sigkill_keeps_every_point_and_reconciles_the_summary(logdir):
    code = """
import os, time, seetrain
run = seetrain.init(project="kill", logdir=os.environ["LOGDIR"])
for i in range(1217):
    seetrain.log({"loss": 1.0 / (i + 1)})
    if i == 61:
        time.sleep(1.5)  # a heartbeat with the summary of step 61 is written now
print("ready", flush=True)
time.sleep(60)
"""
    proc = _spawn(code, logdir)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.communicate(timeout=30)  # reaps it and closes its stdout pipe
    (view,) = seetrain.Api(logdir).runs("kill")
    assert len(view.scalars("loss")) == 1217
    assert view.summary["loss"]["step"] == 1216 and view.summary["loss"]["count"] == 1217
    assert view.status == "crashed" and view.duration >= 1.5
    # Recovery is idempotent: a second reader finds nothing left to replay.
    again = seetrain.Api(logdir).runs("kill")[0]
    assert len(again.scalars("loss")) == 1217


def test_resume_after_sigkill_continues_the_steps(logdir):
    code = """
import os, time, seetrain
run = seetrain.init(project="kill", logdir=os.environ["LOGDIR"], resume="r1")
for i in range(300):
    seetrain.log({"loss": float(i)})
print("ready", flush=True)
time.sleep(60)
"""
    proc = _spawn(code, logdir)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.communicate(timeout=30)  # reaps it and closes its stdout pipe
    run = seetrain.init(project="kill", logdir=str(logdir), resume="r1")  # recovers the journal first
    assert run.step == 300
    run.log({"loss": 300.0})
    run.finish()
    values = [v for _, _, v in seetrain.Api(logdir).run("r1").scalars("loss")]
    assert values == [float(i) for i in range(301)]


@pytest.fixture
def small_tmpfs(tmp_path):
    with tmpfs(tmp_path / "small", "3m") as mnt:
        yield mnt


def test_a_full_disk_keeps_points_pending_and_they_land_when_room_comes_back(small_tmpfs, caplog):
    run = seetrain.init(project="full", logdir=str(small_tmpfs))
    for i in range(150_000):
        run.log({"a": float(i), "b": float(i)})
    run.flush(timeout=3)
    stats = run.get_stats()
    assert stats["points_logged"] == 300_000
    assert stats["points_written"] + stats["points_pending"] == 300_000
    assert stats["points_pending"] > 0 and stats["write_errors"] > 0
    assert "cannot write to the local store" in caplog.text
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_tmpfs)], check=True)
    run.finish()  # never raises; the writer retries and now succeeds
    view = seetrain.Api(small_tmpfs).run(run.id)
    assert len(view.scalars("a")) == 150_000 and len(view.scalars("b")) == 150_000
    assert view.stats["points_written"] == 300_000 and view.stats["points_pending"] == 0


def test_a_full_disk_at_finish_never_raises_and_says_what_is_kept(small_tmpfs, caplog, monkeypatch):
    monkeypatch.setenv("SEETRAIN_FINISH_TIMEOUT", "2")
    run = seetrain.init(project="full", logdir=str(small_tmpfs))
    for i in range(150_000):
        run.log({"a": float(i), "b": float(i)})
    run.finish()
    stats = run.get_stats()
    assert stats["points_written"] + stats["points_pending"] == 300_000 and stats["points_pending"] > 0
    assert "finished with" in caplog.text and str(stats["points_pending"]) in caplog.text
    assert "Traceback" not in caplog.text
