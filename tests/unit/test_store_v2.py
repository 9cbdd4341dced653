"""Local store v2: every accepted point back exactly once, every refused one counted, whatever
the keys, values, steps or write failures. Each bug of the "Nothing lost, ever" issue has a
regression test here (they fail on the row-per-point store)."""

from __future__ import annotations

import math
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import seetrain
from seetrain import RunInUseError, SeeTrainWarning
from tests.helpers import ROOT, run_python, tmpfs

FIXTURE_V1 = ROOT / "tests" / "fixtures" / "v1_store"


def _view(logdir: Path, run: seetrain.Run):
    return seetrain.Api(logdir).run(f"{run.project}/{run.id}")


def test_a_diverging_run_keeps_every_point_of_every_key(logdir, monkeypatch):
    # Steps slower than the flush interval: every flush holds few points, some of them only NaN.
    monkeypatch.setenv("SEETRAIN_FLUSH_INTERVAL", "0.02")
    run = seetrain.init(project="div", logdir=str(logdir))
    for step in range(12):
        run.log({"loss": math.nan if step >= 3 else 1.0 / (step + 1), "acc": step / 12})
        time.sleep(0.03)
    run.log({"only_nan": math.nan})
    run.finish()
    view = _view(logdir, run)
    assert [s for s, _, _ in view.scalars("loss")] == list(range(12))
    assert [s for s, _, _ in view.scalars("acc")] == list(range(12))
    assert all(math.isnan(v) for _, _, v in view.scalars("loss")[3:])
    loss = view.summary["loss"]
    assert loss["count"] == 12 and loss["nonfinite"] == 9 and loss["min"] == 1 / 3 and math.isnan(loss["last"])
    assert view.summary["only_nan"]["nonfinite"] == 1 and view.summary["only_nan"]["min"] is None
    assert view.stats["write_errors"] == 0 and view.stats["points_written"] == 12 + 12 + 1


@pytest.mark.parametrize("keys", [
    ["训练/损失", "训练/精度"],
    ["検証/損失", "検証/精度"],
    ["λ", "α", "Δloss"],
    ["val loss", "val  loss", " val loss"],
    ["loss", "loss\u00a0"],  # a no-break space is printable text, kept as typed
])
def test_keys_in_any_language_stay_distinct(logdir, keys, recwarn):
    run = seetrain.init(project="keys", logdir=str(logdir))
    for step in range(3):
        run.log({k: float(i * 10 + step) for i, k in enumerate(keys)})
    run.finish()
    view = _view(logdir, run)
    assert sorted(view.keys()) == sorted(keys)
    for i, k in enumerate(keys):
        assert [v for _, _, v in view.scalars(k)] == [i * 10.0, i * 10.0 + 1, i * 10.0 + 2]
    assert not [w for w in recwarn if issubclass(w.category, SeeTrainWarning)]


def test_one_bad_step_costs_only_its_own_call(logdir, recwarn):
    run = seetrain.init(project="steps", logdir=str(logdir))
    run.log({"x": 0.0})
    run.log({"x": 1.0}, step=2**63)
    for _ in range(5):
        run.log({"x": 2.0})
    run.finish()
    view = _view(logdir, run)
    assert [s for s, _, _ in view.scalars("x")] == [0, 1, 2, 3, 4, 5]
    assert view.stats["points_refused"] == 1 and view.stats["write_errors"] == 0


def test_a_console_line_with_a_lone_surrogate_costs_nothing(logdir):
    run = seetrain.init(project="con", logdir=str(logdir))
    run.log({"x": 1.0})
    run.log_console("stdout", "bytes \udcff from surrogateescape")
    run.log({"x": 2.0})
    run.finish()
    view = _view(logdir, run)
    assert [v for _, _, v in view.scalars("x")] == [1.0, 2.0]
    (line,) = view.console()
    assert line["line"] == "bytes \\udcff from surrogateescape"


def test_steps_may_go_backwards_and_repeat(logdir):
    run = seetrain.init(project="back", logdir=str(logdir))
    for step in (5, 3, 3, 9, -2):
        run.log({"y": float(step)}, step=step)
    run.finish()
    assert [(s, v) for s, _, v in _view(logdir, run).scalars("y")] == [
        (5, 5.0), (3, 3.0), (3, 3.0), (9, 9.0), (-2, -2.0)]


def test_write_failures_keep_points_pending_and_retry(logdir, monkeypatch, caplog):
    from seetrain.storage.store import RunStore

    real_write = RunStore.write
    failures = {"left": 4}

    def flaky(self, *args, **kwargs):
        if failures["left"]:
            failures["left"] -= 1
            raise sqlite3.OperationalError("disk I/O error")
        return real_write(self, *args, **kwargs)

    monkeypatch.setattr(RunStore, "write", flaky)
    monkeypatch.setenv("SEETRAIN_FLUSH_INTERVAL", "0.01")
    run = seetrain.init(project="io", logdir=str(logdir))
    for i in range(1000):
        run.log({"a": float(i), "b": -float(i)})
    run.finish()
    view = _view(logdir, run)
    assert [v for _, _, v in view.scalars("a")] == [float(i) for i in range(1000)]
    assert view.stats["write_errors"] == 4 and view.stats["points_written"] == 2000
    assert view.stats["points_pending"] == 0
    assert "cannot write to the local store" in caplog.text and "disk I/O error" in caplog.text


def test_a_store_that_never_comes_back_keeps_the_journal_and_finish_does_not_raise(logdir, monkeypatch,
                                                                                    caplog):
    from seetrain.storage.store import RunStore

    def broken(self, *args, **kwargs):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setenv("SEETRAIN_FINISH_TIMEOUT", "1")
    run = seetrain.init(project="full", logdir=str(logdir))
    run.log({"kept": 1.0})
    run.flush()
    monkeypatch.setattr(RunStore, "write", broken)
    for i in range(500):
        run.log({"pending": float(i)})
    run.finish()  # must not raise
    stats = run.get_stats()
    assert stats["points_written"] == 1 and stats["points_pending"] == 500 and stats["points_logged"] == 501
    assert "kept in the journal" in caplog.text
    monkeypatch.undo()
    # A later reader recovers the journal: nothing is lost.
    view = seetrain.Api(logdir).run(run.id)
    assert [v for _, _, v in view.scalars("pending")] == [float(i) for i in range(500)]
    assert view.scalars("kept")[0][2] == 1.0


def test_a_failing_summary_costs_no_point(logdir, monkeypatch):
    from seetrain.storage.writer import Summary

    def boom(self, chunk):
        raise TypeError("'<' not supported between instances of 'NoneType' and 'float'")

    monkeypatch.setattr(Summary, "add", boom)
    run = seetrain.init(project="sum", logdir=str(logdir))
    for i in range(100):
        run.log({"loss": float(i)})
    run.finish()
    assert len(_view(logdir, run).scalars("loss")) == 100
    assert run.get_stats()["summary_errors"] >= 1


def test_two_processes_cannot_write_one_run(logdir):
    run = seetrain.init(project="dup", logdir=str(logdir), resume="shared-id")
    run.log({"x": 1.0})
    code = f"""
import seetrain
try:
    seetrain.init(project="dup", logdir={str(logdir)!r}, resume="shared-id")
except seetrain.RunInUseError as exc:
    print("refused:", exc)
"""
    out = run_python(code, check=True).stdout
    assert "refused:" in out and "another process" in out
    with pytest.raises(RunInUseError):
        seetrain.init(project="dup", logdir=str(logdir), resume="shared-id", reinit="create_new")
    run.finish()
    again = seetrain.init(project="dup", logdir=str(logdir), resume="shared-id")
    again.log({"x": 2.0})
    again.finish()
    assert [(s, v) for s, _, v in seetrain.Api(logdir).run("shared-id").scalars("x")] == [(0, 1.0), (1, 2.0)]


def test_a_v1_store_is_read_then_migrated_on_resume(tmp_path):
    logdir = tmp_path / "logs"
    shutil.copytree(FIXTURE_V1, logdir)
    view = seetrain.Api(logdir).run("legacy/v1run")
    loss = view.scalars("loss")
    assert len(loss) == 3000 and math.isnan(loss[1500][2]) and loss[1600][2] == math.inf
    assert loss[1700][2] == -math.inf and loss[0][2] == 1.0
    assert view.config["lr"] == 0.1 and len(view.media("img")) == 1
    run = seetrain.init(project="legacy", logdir=str(logdir), resume="v1run")
    assert run.step == 3000
    run.log({"loss": 0.5})
    run.finish()
    view = seetrain.Api(logdir).run("legacy/v1run")
    loss = view.scalars("loss")
    assert len(loss) == 3001 and loss[-1] == (3000, loss[-1][1], 0.5) and math.isnan(loss[1500][2])
    conn = sqlite3.connect(logdir / "legacy" / "v1run" / "run.sqlite")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "chunks" in tables and "scalars" not in tables
    conn.close()
    assert view.summary["loss"]["count"] == 3001
    # The migrated store keeps the identity its uploads used before it had one.
    from seetrain.storage.store import connect, legacy_identity, store_identity

    conn = connect(str(logdir / "legacy" / "v1run" / "run.sqlite"), readonly=True)
    assert store_identity(conn) == legacy_identity(view.created_at)
    conn.close()


def test_a_config_nested_too_deep_is_kept_as_text(logdir):
    deep = inner = {}
    for _ in range(600):
        inner["a"] = {}
        inner = inner["a"]
    with pytest.warns(SeeTrainWarning, match="deeper than 250 levels"):
        run = seetrain.init(project="deep", logdir=str(logdir), config={"deep": deep, "lr": 0.1})
    run.finish()
    config = _view(logdir, run).config
    assert config["lr"] == 0.1 and "nested deeper than 250 levels" in str(config)


def test_a_million_points_read_back_exactly(logdir):
    run = seetrain.init(project="big", logdir=str(logdir))
    vals = np.random.default_rng(0).standard_normal(1_000_000)
    vals[123_456] = np.nan
    for i in range(0, 1_000_000, 10):
        run.log({f"k{j}": float(vals[i + j]) for j in range(10)}, step=i // 10)
    run.finish()
    view = _view(logdir, run)
    got = np.concatenate([view.columns(f"k{j}").value for j in range(10)])
    want = np.concatenate([vals[j::10] for j in range(10)])
    assert np.array_equal(got, want, equal_nan=True)
    assert view.point_count() == 1_000_000
    conn = sqlite3.connect(Path(view.dir) / "run.sqlite")
    assert conn.execute("SELECT COUNT(*) FROM chunks").fetchone()[0] < 2_000  # packed, not a row a point
    conn.close()


def test_many_threads_lose_nothing(logdir):
    run = seetrain.init(project="threads", logdir=str(logdir))

    def work(t: int) -> None:
        for i in range(5000):
            run.log({f"t{t}": float(i)}, step=i)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run.finish()
    view = _view(logdir, run)
    for t in range(4):
        assert [v for _, _, v in view.scalars(f"t{t}")] == [float(i) for i in range(5000)]


def test_stats_are_honest(logdir):
    run = seetrain.init(project="stats", logdir=str(logdir))
    with pytest.warns(SeeTrainWarning):
        run.log({"a": 1.0, "b": "text", "": 2.0, "c": {"d": 3.0, "e": None}})
    run.finish()
    stats = _view(logdir, run).stats
    assert stats["points_logged"] == 2 and stats["points_written"] == 2 and stats["points_refused"] == 3
    assert stats["points_pending"] == 0 and stats["write_state"] == "ok" and stats["write_errors"] == 0


def test_read_only_store_is_readable(tmp_path):
    import subprocess

    with tmpfs(tmp_path / "ro", "16m") as mnt:
        run = seetrain.init(project="ro", logdir=str(mnt))
        for i in range(100):
            run.log({"x": float(i)})
        run.finish()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        view = seetrain.Api(mnt).run(run.id)
        assert view.status == "finished" and len(view.scalars("x")) == 100
        from seetrain.server.local_source import LocalSource

        assert LocalSource(mnt).metric("ro", run.id, "x")["total"] == 100
