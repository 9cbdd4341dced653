"""seetrain.timer: per-call metric at the user's step, summary in the metadata, nesting, threads,
decorators (sync and async), and a no-op without a run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

import seetrain


def test_import_seetrain_stays_light_with_timer():
    code = "import sys, seetrain; seetrain.timer; print('numpy' in sys.modules, 'integrations' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


def test_sections_log_at_the_users_step_without_moving_it(logdir):
    run = seetrain.init(project="t", logdir=str(logdir))
    for step in range(3):
        with seetrain.timer("data_loading"):
            pass
        seetrain.log({"loss": 1.0 / (step + 1)})
    assert run.step == 3  # the timer did not move the step counter
    with seetrain.timer("after"):
        pass
    summary = seetrain.timing_summary()
    assert summary["data_loading"]["count"] == 3 and summary["after"]["count"] == 1
    seetrain.finish()
    (view,) = seetrain.Api(logdir).runs("t")
    points = view.scalars("time/data_loading")
    # Timed before each log(): at the step logged last (0 before the first log).
    assert [s for s, _, _ in points] == [0, 0, 1]
    assert all(v >= 0 for _, _, v in points)
    assert [s for s, _, _ in view.scalars("loss")] == [0, 1, 2]
    timing = view.metadata["timing"]
    assert set(timing) == {"data_loading", "after"}
    entry = timing["data_loading"]
    assert set(entry) == {"count", "total", "mean", "min", "max", "p50", "p95"}
    assert entry["count"] == 3 and entry["min"] <= entry["p50"] <= entry["p95"] <= entry["max"]
    assert entry["total"] == pytest.approx(sum(v for _, _, v in points))


def test_nested_decorated_threaded_and_async(logdir):
    seetrain.init(project="n", logdir=str(logdir))
    outer = seetrain.timer("outer")

    @seetrain.timer("work")
    def work(x):
        with seetrain.timer("inner"):
            return x * 2

    @seetrain.timer("async_work")
    async def async_work(x):
        await asyncio.sleep(0)
        return x + 1

    with outer:
        with outer:  # the same object re-entered
            assert work(2) == 4
    assert outer.last is not None and outer.last >= 0

    threads = [threading.Thread(target=lambda: [work(i) for i in range(50)]) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    async def many():
        return await asyncio.gather(*(async_work(i) for i in range(10)))

    assert asyncio.run(many()) == list(range(1, 11))
    summary = seetrain.timing_summary()
    assert summary["outer"]["count"] == 2 and summary["work"]["count"] == 201
    assert summary["inner"]["count"] == 201 and summary["async_work"]["count"] == 10
    seetrain.finish()
    (view,) = seetrain.Api(logdir).runs("n")
    assert len(view.scalars("time/work")) == 201
    assert view.metadata["timing"]["work"]["count"] == 201


def test_exception_is_timed_and_propagates(logdir):
    seetrain.init(project="e", logdir=str(logdir))
    with pytest.raises(KeyError):
        with seetrain.timer("failing"):
            raise KeyError("x")
    assert seetrain.timing_summary()["failing"]["count"] == 1


def test_no_op_without_a_run(logdir):
    @seetrain.timer("free")
    def f():
        return 7

    assert f() == 7
    with seetrain.timer("free") as t:
        pass
    assert t.last is not None and seetrain.timing_summary() == {}
    run = seetrain.init(project="late", logdir=str(logdir), mode="disabled")
    with seetrain.timer("free"):
        pass
    assert seetrain.timing_summary(run) == {}
