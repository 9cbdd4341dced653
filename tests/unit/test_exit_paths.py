"""Real processes: normal exit without finish, exception, KeyboardInterrupt, SIGTERM, SIGKILL."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import seetrain
from tests.helpers import ROOT, run_python

PRELUDE = """
import os, sys, time, seetrain
run = seetrain.init(project="exit", experiment_name=sys.argv[0], logdir=os.environ["LOGDIR"])
for i in range(500):
    seetrain.log({"x": float(i)})
"""


def _single_run(logdir):
    (run,) = seetrain.Api(logdir).runs("exit")
    return run


def test_normal_exit_without_finish_flushes_everything(logdir):
    run_python(PRELUDE, env={"LOGDIR": str(logdir)}, check=True)
    run = _single_run(logdir)
    assert run.status == "finished" and run.point_count() == 500


def test_uncaught_exception_marks_failed(logdir):
    proc = run_python(PRELUDE + "raise RuntimeError('boom')\n", env={"LOGDIR": str(logdir)})
    assert proc.returncode == 1 and "boom" in proc.stderr
    run = _single_run(logdir)
    assert run.status == "failed" and "RuntimeError: boom" in run.error and run.point_count() == 500


def test_keyboard_interrupt_marks_aborted(logdir):
    proc = run_python(PRELUDE + "raise KeyboardInterrupt\n", env={"LOGDIR": str(logdir)})
    assert proc.returncode != 0
    run = _single_run(logdir)
    assert run.status == "aborted" and run.point_count() == 500


def _start(code: str, logdir) -> subprocess.Popen[str]:
    env = {"PYTHONPATH": str(ROOT), "LOGDIR": str(logdir), "PATH": "/usr/bin:/bin",
           "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"}
    return subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)


def _wait_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"


def test_sigterm_marks_aborted_and_loses_nothing(logdir):
    proc = _start(PRELUDE + "print('ready', flush=True)\ntime.sleep(60)\n", logdir)
    _wait_ready(proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)  # reaps it and closes its stdout pipe
    assert proc.returncode == -signal.SIGTERM
    run = _single_run(logdir)
    assert run.status == "aborted" and run.point_count() == 500


def test_sigkill_loses_nothing_after_recovery(logdir):
    code = PRELUDE + "time.sleep(1.0)\nseetrain.log({'late': 1.0})\nprint('ready', flush=True)\ntime.sleep(60)\n"
    proc = _start(code, logdir)
    _wait_ready(proc)
    proc.kill()
    proc.communicate(timeout=30)  # reaps it and closes its stdout pipe
    run = _single_run(logdir)
    # The journal tail (the point logged just before the kill) is recovered by the reader.
    assert len(run.scalars("x")) == 500 and run.scalars("late")[0][2] == 1.0
    assert run.status == "crashed" and run.summary["late"]["last"] == 1.0
    assert len(run.history()) == 501


def test_crashed_status_from_stale_heartbeat(logdir):
    run = seetrain.init(project="p", logdir=str(logdir))
    run.flush()
    view = seetrain.Api(logdir).run(run.id)
    assert view.status == "running"
    from seetrain.api import HEARTBEAT_TIMEOUT, live_status

    stale = time.time() + HEARTBEAT_TIMEOUT + 1
    assert live_status("running", view.heartbeat_at, None, "elsewhere", now=stale) == "crashed"
    assert live_status("finished", view.heartbeat_at, None, "elsewhere", now=stale) == "finished"


def test_forked_child_never_touches_the_parents_run(logdir):
    code = PRELUDE + """
pid = os.fork()
if pid == 0:
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seetrain.log({"child": 1.0})
        print("child warned:", any("forked child" in str(w.message) for w in caught), flush=True)
    seetrain.finish()
    sys.exit(0)  # a normal exit: atexit runs in the child too
os.waitpid(pid, 0)
for i in range(100):
    seetrain.log({"after_fork": float(i)})
"""
    proc = run_python(code, env={"LOGDIR": str(logdir)}, check=True)
    assert "child warned: True" in proc.stdout
    run = _single_run(logdir)
    assert run.status == "finished"
    assert run.point_count() == 600 and "child" not in run.keys()
