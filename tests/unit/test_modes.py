from __future__ import annotations

import os

import pytest

import seetrain


def test_disabled_mode_is_a_no_op(logdir):
    run = seetrain.init(project="p", mode="disabled", config={"a": 1}, logdir=str(logdir))
    assert isinstance(run, seetrain.DisabledRun)
    seetrain.log({"x": 1.0})
    seetrain.log_image("img", object())
    assert seetrain.config.a == 1
    seetrain.finish()
    assert os.listdir(logdir) == []


def test_environment_overrides_defaults(logdir, monkeypatch):
    monkeypatch.setenv("SEETRAIN_LOGDIR", str(logdir / "env"))
    monkeypatch.setenv("SEETRAIN_PROJECT", "from_env")
    monkeypatch.setenv("SEETRAIN_MODE", "offline")
    run = seetrain.init()
    assert run.mode == "offline" and run.project == "from_env"
    run.log({"a": 1})
    run.finish()
    assert seetrain.Api(logdir / "env").projects() == ["from_env"]
    explicit = seetrain.init(project="explicit", mode="local", logdir=str(logdir))
    explicit.finish()
    assert (explicit.project, explicit.mode) == ("explicit", "local")
    assert seetrain.Api(logdir).projects() == ["explicit"]


def test_default_logdir_is_seetrain_logs_in_cwd(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = seetrain.init(project="p")
    run.finish()
    assert run.dir.startswith(str(tmp_path / "seetrain_logs"))


def test_bad_mode_is_rejected(logdir):
    with pytest.raises(ValueError, match="mode must be one of"):
        seetrain.init(project="p", mode="cloud", logdir=str(logdir))


def test_online_without_server_says_so_and_logs_locally(logdir, capsys):
    run = seetrain.init(project="p", mode="online", logdir=str(logdir))
    run.log({"a": 1.0})
    run.finish()
    assert "no server is configured" in capsys.readouterr().err
    assert seetrain.Api(logdir).run(run.id).summary["a"]["last"] == 1.0


def test_second_init_finishes_the_first(logdir):
    first = seetrain.init(project="p", logdir=str(logdir))
    second = seetrain.init(project="p", logdir=str(logdir))
    assert first.finished and not second.finished
    assert seetrain.init(project="p", reinit="return_previous", logdir=str(logdir)) is second
    third = seetrain.init(project="p", reinit="create_new", logdir=str(logdir))
    assert not second.finished and seetrain.get_run() is third
    second.finish()
    third.finish()
    statuses = {r.id: r.status for r in seetrain.Api(logdir).runs()}
    assert statuses == {first.id: "finished", second.id: "finished", third.id: "finished"}


def test_finish_is_idempotent(logdir):
    run = seetrain.init(project="p", logdir=str(logdir))
    run.log({"a": 1})
    run.finish()
    run.finish(status="failed")
    seetrain.finish()
    assert seetrain.Api(logdir).run(run.id).status == "finished"


def test_context_manager_marks_failure_and_reraises(logdir):
    with pytest.raises(ZeroDivisionError):
        with seetrain.init(project="p", logdir=str(logdir)) as run:
            run.log({"a": 1})
            raise ZeroDivisionError("inside the run")
    view = seetrain.Api(logdir).run(run.id)
    assert view.status == "failed" and "ZeroDivisionError" in view.error
    with seetrain.init(project="p", logdir=str(logdir)) as ok:
        ok.log({"a": 1})
    assert seetrain.Api(logdir).run(ok.id).status == "finished"


def test_metadata_is_recorded(logdir):
    import numpy  # noqa: F401 - a framework already imported by the script is recorded
    run = seetrain.init(project="p", logdir=str(logdir))
    run.finish()
    meta = seetrain.Api(logdir).run(run.id).metadata
    for key in ("hostname", "python", "command", "cwd", "pid", "platform", "duration", "frameworks"):
        assert key in meta
    assert "numpy" in meta["frameworks"]
