"""W&B mirror: unchanged W&B code against the real wandb package in offline mode, read back
through Api; unsync must hand W&B back its original function objects."""

from __future__ import annotations

import pytest

wandb = pytest.importorskip("wandb")
np = pytest.importorskip("numpy")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = {"system_monitor": False, "capture_console": False}


def _originals() -> dict[str, object]:
    from wandb.sdk import wandb_config, wandb_run

    return {
        "wandb.init": wandb.init, "wandb.finish": wandb.finish,
        "Run.log": vars(wandb_run.Run)["log"], "Run.finish": vars(wandb_run.Run)["finish"],
        **{f"Config.{name}": vars(wandb_config.Config)[name]
           for name in ("update", "__setitem__", "__setattr__", "setdefaults")},
    }


@pytest.fixture(scope="module", autouse=True)
def wandb_service():
    yield
    wandb.teardown()  # stop the W&B service process this module started


@pytest.fixture(autouse=True)
def offline_wandb(monkeypatch, tmp_path):
    for var in ("SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE", "RANK", "LOCAL_RANK", "WANDB_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    wandb_dir = tmp_path / "wandb_home"
    wandb_dir.mkdir()
    for var in ("WANDB_DIR", "WANDB_CONFIG_DIR", "WANDB_CACHE_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(wandb_dir))
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("WANDB_CONSOLE", "off")
    before = _originals()
    yield
    from integrations.wandb import unsync_wandb

    if wandb.run is not None:
        wandb.finish()
    unsync_wandb()
    main.finish()
    assert _originals() == before


def unchanged_wandb_script() -> list[float]:
    """What a user already has: nothing SeeTrain-specific below this line."""
    run = wandb.init(project="wb-proj", name="wb-run", config={"lr": 0.01, "arch": "mlp"},
                     tags=["baseline"], notes="a W&B script", group="ablation", job_type="train")
    losses = []
    for step in range(3):
        loss = 1.0 / (step + 1)
        losses.append(loss)
        wandb.log({"train/loss": loss, "extra": {"grad_norm": step * 0.5}})
    wandb.log({"val/acc": 0.7}, commit=False)  # joins the next step
    wandb.log({"val/loss": 0.4})
    run.log({"sample": wandb.Image(np.zeros((4, 4, 3), dtype=np.uint8), caption="zeros"),
             "weights": wandb.Histogram(np.arange(10.0)), "note": "hello",
             "table": wandb.Table(columns=["a"], data=[[1]])}, step=10)
    wandb.config.update({"batch_size": 32})
    wandb.config.epochs = 2
    wandb.config["seed"] = 7
    wandb.finish()
    return losses


def test_unchanged_script_is_mirrored(tmp_path):
    from integrations.wandb import WandbMirror, sync_wandb, unsync_wandb

    integration = sync_wandb(logdir=str(tmp_path / "st"), **QUIET)
    mirror = integration.get_tracker()
    assert isinstance(mirror, WandbMirror) and mirror.enabled
    assert sync_wandb() is integration  # applied once
    losses = unchanged_wandb_script()
    unsync_wandb()
    assert not mirror.enabled

    (view,) = seetrain.Api(tmp_path / "st").runs("wb-proj")
    assert view.name == "wb-run" and view.description == "a W&B script" and view.group == "ablation"
    assert {"baseline", "wandb"} <= set(view.tags)
    assert view.status == "finished"
    config = view.config
    assert config["lr"] == 0.01 and config["arch"] == "mlp"
    assert config["batch_size"] == 32 and config["epochs"] == 2 and config["seed"] == 7
    assert config["framework"]["name"] == "wandb" and config["framework"]["mode"] == "tracker"
    assert view.metadata["wandb"]["job_type"] == "train"
    assert [(s, v) for s, _, v in view.scalars("train/loss")] == list(enumerate(losses))
    assert [s for s, _, _ in view.scalars("extra/grad_norm")] == [0, 1, 2]
    assert [s for s, _, _ in view.scalars("val/acc")] == [3] == [s for s, _, _ in view.scalars("val/loss")]
    (image,) = view.media("sample", kind="image")
    assert image.step == 10 and image.caption == "zeros" and image.payload["width"] == 4
    (hist,) = view.media("weights", kind="histogram")
    assert sum(hist.payload["counts"]) == 10
    assert view.media("note", kind="text")[0].payload["text"] == "hello"
    assert view.media("table") == []  # no SeeTrain record type: skipped, W&B still has it


def test_unsync_restores_wandb_exactly_and_stops_mirroring(tmp_path):
    from wandb.sdk import wandb_run

    from integrations.wandb import sync_wandb, unsync

    before = _originals()
    sync_wandb(logdir=str(tmp_path / "st"), **QUIET)
    patched = _originals()
    assert all(patched[name] is not before[name] for name in before)
    assert isinstance(wandb.init, type(patched["wandb.init"]))
    run = wandb.init(project="restore")
    wandb.log({"mirrored": 1.0})
    unsync()
    assert _originals() == before
    assert all(_originals()[name] is before[name] for name in before)
    assert wandb_run.Run.log is before["Run.log"]
    wandb.log({"not_mirrored": 1.0})  # W&B still works, SeeTrain no longer listens
    run.finish()
    (view,) = seetrain.Api(tmp_path / "st").runs("restore")
    assert view.keys() == ["mirrored"] and view.status == "finished"


def test_exit_code_marks_failed_and_each_init_is_a_run(tmp_path):
    from integrations.wandb import sync_wandb

    mirror = sync_wandb(project="forced", logdir=str(tmp_path / "st"), tags=["mine"], **QUIET).get_tracker()
    for attempt in range(2):
        wandb.init(project="ignored", name=f"attempt-{attempt}", config={"attempt": attempt})
        wandb.log({"x": attempt})
        assert len(mirror.runs()) == 1
        wandb.finish(exit_code=attempt)
    views = {v.name: v for v in seetrain.Api(tmp_path / "st").runs("forced")}
    assert views["attempt-0"].status == "finished" and views["attempt-1"].status == "failed"
    assert views["attempt-1"].config["attempt"] == 1 and "mine" in views["attempt-1"].tags
    assert mirror.runs() == []


def test_hub_init_wandb(tmp_path):
    integration = main.init_wandb(logdir=str(tmp_path / "st"), **QUIET)
    mirror = integration.get_tracker()
    assert mirror.enabled and mirror.integration is integration
    wandb.init(project="hub-wb", name="via-hub")
    wandb.log({"loss": 0.5})
    main.log({"from_hub": 1.0}, step=5)  # the hub reaches the mirrored run
    wandb.finish()
    integration.finish()
    integration.finish()  # twice is harmless
    assert not mirror.enabled
    (view,) = seetrain.Api(tmp_path / "st").runs("hub-wb")
    assert view.keys() == ["from_hub", "loss"] and view.status == "finished"


def test_non_zero_rank_patches_and_writes_nothing(tmp_path, monkeypatch):
    from integrations.wandb import sync_wandb

    monkeypatch.setenv("RANK", "1")
    before = _originals()
    mirror = sync_wandb(logdir=str(tmp_path / "st"), **QUIET).get_tracker()
    assert not mirror.enabled and _originals() == before
    wandb.init(project="ranked")
    wandb.log({"x": 1.0})
    wandb.finish()
    mirror.integration.finish()
    assert seetrain.Api(tmp_path / "st").runs() == []


def test_seetrain_failure_does_not_break_wandb(tmp_path):
    from integrations.wandb import sync_wandb

    mirror = sync_wandb(logdir=str(tmp_path / "st"), **QUIET).get_tracker()
    run = wandb.init(project="broken")
    (mirrored,) = mirror.runs()

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    mirrored.log = boom
    for step in range(3):
        wandb.log({"x": step})
    assert run.step == 3  # W&B itself carried on
    assert mirror.integration.get_stats()["degraded_calls"] == 3
    wandb.finish()
    (view,) = seetrain.Api(tmp_path / "st").runs("broken")
    assert view.status == "finished"
