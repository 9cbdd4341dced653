"""MLflow mirror against a real local MLflow store (SQLite and file): what MLflow stored and
what SeeTrain stored agree; unsync puts the very same functions back."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "true")
mlflow = pytest.importorskip("mlflow")

from mlflow.tracking import MlflowClient, fluent  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations import mlflow as mirror  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = dict(system_monitor=False, capture_console=False)


@pytest.fixture(scope="module")
def sqlite_uri(tmp_path_factory):
    # One database for the module: creating an MLflow SQLite store runs its migrations (seconds).
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow')}/mlflow.db"


@pytest.fixture(params=["sqlite", "file"])
def tracking(request, tmp_path, monkeypatch, sqlite_uri):
    for var in ("RANK", "LOCAL_RANK", "SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE",
                "MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # mlflow writes ~/.config/mlflow
    monkeypatch.chdir(tmp_path)  # a SQLite store keeps artifacts in ./mlruns of the cwd
    originals = {(owner, name): getattr(owner, name) for owner in (mlflow, fluent) for name in mirror.FUNCTIONS}
    if request.param == "sqlite":
        uri = sqlite_uri
    else:
        monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 keeps it behind a flag
        uri = (tmp_path / "mlruns").as_uri()
    mlflow.set_tracking_uri(uri)
    yield uri
    while mlflow.active_run() is not None:
        mlflow.end_run()
    mirror.unsync_mlflow()
    main.finish()
    mlflow.set_tracking_uri(None)
    for (owner, name), original in originals.items():
        assert getattr(owner, name) is original, f"{owner.__name__}.{name} not restored"


def test_fluent_calls_reach_mlflow_and_seetrain(tracking, tmp_path):
    logdir = tmp_path / "logs"
    original_log_metric = mlflow.log_metric
    integration = mirror.sync_mlflow(project="ml", logdir=str(logdir), **QUIET)
    assert mirror.sync_mlflow() is integration  # applied once
    assert mlflow.log_metric is not original_log_metric

    with mlflow.start_run(run_name="baseline", tags={"team": "cv"}) as ml:
        mlflow.log_param("lr", 0.1)
        mlflow.log_params({"batch": 4, "optimizer": "sgd"})
        for step in range(3):
            mlflow.log_metric("loss", 1.0 / (step + 1), step=step)
        mlflow.log_metrics({"acc": 0.5, "f1": 0.25}, step=2)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"owner": "me"})
        mlflow.log_text("hello mlflow", "notes/readme.txt")
        mlflow.log_image(np.zeros((4, 5, 3), dtype=np.uint8), key="sample", step=1)
        mlflow.log_image(np.full((6, 2, 3), 200, dtype=np.uint8), artifact_file="picture.png")
    with pytest.raises(ValueError, match="boom"), mlflow.start_run(run_name="second") as second:
        mlflow.log_metric("loss", 2.0, step=0)
        raise ValueError("boom")
    assert integration.get_stats()["degraded_calls"] == 0
    mirror.unsync_mlflow()
    mirror.unsync()  # twice is harmless
    assert mlflow.log_metric is original_log_metric

    client = MlflowClient()
    stored = client.get_run(ml.info.run_id)
    assert stored.info.status == "FINISHED"
    assert stored.data.params == {"lr": "0.1", "batch": "4", "optimizer": "sgd"}
    assert [(m.step, m.value) for m in client.get_metric_history(ml.info.run_id, "loss")] == \
        [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert stored.data.tags["stage"] == "dev" and stored.data.tags["team"] == "cv"
    assert client.get_run(second.info.run_id).info.status == "FAILED"

    runs = {v.name: v for v in seetrain.Api(logdir).runs("ml")}
    assert set(runs) == {"baseline", "second"}
    base = runs["baseline"]
    assert base.status == "finished"
    assert base.config["framework"]["name"] == "mlflow" and base.config["framework"]["mode"] == "visbackend"
    assert "mlflow" in base.tags
    assert (base.config["lr"], base.config["batch"], base.config["optimizer"]) == (0.1, 4, "sgd")
    assert base.config["mlflow_tags"] == {"team": "cv", "stage": "dev", "owner": "me"}
    assert base.config["mlflow"]["run_id"] == ml.info.run_id
    assert base.config["mlflow"]["experiment_name"] == "Default"
    assert [(s, v) for s, _, v in base.scalars("loss")] == [(0, 1.0), (1, 0.5), (2, pytest.approx(1 / 3))]
    assert base.scalars("f1")[0][::2] == (2, 0.25)
    assert base.media("notes/readme.txt", kind="text")[0].payload["text"] == "hello mlflow"
    (sample,) = base.media("sample", kind="image")
    assert (sample.step, sample.payload["width"], sample.payload["height"]) == (1, 5, 4)
    assert len(base.media("picture.png", kind="image")) == 1
    failed = runs["second"]
    assert failed.status == "failed"
    assert failed.config["framework"]["name"] == "mlflow" and "mlflow" in failed.tags
    assert failed.scalars("loss")[0][::2] == (0, 2.0)


def test_auto_started_nested_runs_and_fluent_references(tracking, tmp_path):
    logdir = tmp_path / "logs"
    mirror.sync_mlflow(project="ml", experiment_name="parent-run", logdir=str(logdir), **QUIET)
    from mlflow import log_metric  # imported after sync: the mirrored function

    log_metric("auto", 1.0, step=0)  # MLflow starts a run itself (fluent.start_run)
    parent = mlflow.active_run()
    with mlflow.start_run(run_name="child", nested=True):
        fluent.log_metric("child_loss", 0.5, step=3)
    mlflow.end_run()
    mirror.unsync_mlflow()

    runs = {v.name: v for v in seetrain.Api(logdir).runs("ml")}
    assert set(runs) == {"parent-run", "child"}  # experiment_name given: the first run keeps it
    assert runs["parent-run"].config["mlflow"]["run_id"] == parent.info.run_id
    assert runs["parent-run"].scalars("auto")[0][::2] == (0, 1.0)
    assert runs["child"].group == "parent-run"
    assert runs["child"].config["mlflow"]["parent_run_id"] == parent.info.run_id
    assert runs["child"].scalars("child_loss")[0][::2] == (3, 0.5)
    assert all(v.status == "finished" for v in runs.values())


def test_kept_reference_after_unsync_records_nothing(tracking, tmp_path):
    logdir = tmp_path / "logs"
    mirror.sync_mlflow(project="ml", logdir=str(logdir), **QUIET)
    patched = mlflow.log_metric
    with mlflow.start_run() as ml:
        patched("before", 1.0, step=0)
        mirror.unsync_mlflow()
        patched("after", 1.0, step=0)  # a stale wrapper only calls the original
    (view,) = seetrain.Api(logdir).runs("ml")
    assert view.keys() == ["before"]
    assert set(MlflowClient().get_run(ml.info.run_id).data.metrics) == {"before", "after"}


def test_rank_nonzero_writes_nothing(tracking, tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    logdir = tmp_path / "logs"
    mirror.sync_mlflow(project="ml", logdir=str(logdir), **QUIET)
    with mlflow.start_run() as ml:
        mlflow.log_metric("loss", 1.0, step=0)
    mirror.unsync_mlflow()
    assert seetrain.Api(logdir).runs() == []
    assert MlflowClient().get_run(ml.info.run_id).data.metrics == {"loss": 1.0}


def test_failure_inside_seetrain_does_not_break_mlflow(tracking, tmp_path, monkeypatch):
    def broken(self, data, step=None):
        raise RuntimeError("store is gone")

    integration = mirror.sync_mlflow(project="ml", logdir=str(tmp_path / "logs"), **QUIET)
    monkeypatch.setattr(seetrain.Run, "log", broken)
    with mlflow.start_run() as ml:
        for step in range(3):
            mlflow.log_metric("loss", float(step), step=step)
    assert integration.get_stats()["degraded_calls"] >= 3
    mirror.unsync_mlflow()
    assert len(MlflowClient().get_metric_history(ml.info.run_id, "loss")) == 3
