"""SeeTrainLogger driven by a real Lightning Trainer on the CPU (tiny model, synthetic data)."""

from __future__ import annotations

import argparse
import csv
import dataclasses
import math
import os

import pytest

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

import lightning.pytorch as lp  # noqa: E402
from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402
from lightning.pytorch.loggers import CSVLogger  # noqa: E402
from lightning_utilities.core.rank_zero import rank_zero_only  # noqa: E402
from torch.utils.data import DataLoader, TensorDataset  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.lightning import LightningIntegration, SeeTrainLogger  # noqa: E402

pytestmark = pytest.mark.integration
SEETRAIN_KW = {"system_monitor": False, "capture_console": False}


class TinyModule(lp.LightningModule):
    def __init__(self, lr: float = 0.05, hidden: int = 8, fail_at_step: int | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.net = torch.nn.Sequential(torch.nn.Linear(4, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))

    def training_step(self, batch, batch_idx):
        if self.hparams.fail_at_step is not None and self.global_step >= self.hparams.fail_at_step:
            raise RuntimeError("boom in training_step")
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.net(x), y)
        self.log("train/loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val/loss", torch.nn.functional.mse_loss(self.net(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test/loss", torch.nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _loader(n: int = 32, seed: int = 0) -> DataLoader:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=gen)
    y = x.sum(dim=1, keepdim=True)
    return DataLoader(TensorDataset(x, y), batch_size=4)


def _trainer(tmp_path, loggers, trainer_cls=lp.Trainer, **kw):
    kw.setdefault("max_epochs", 2)
    return trainer_cls(logger=loggers, default_root_dir=str(tmp_path / "root"), enable_progress_bar=False,
                       enable_model_summary=False, accelerator="cpu", devices=1, log_every_n_steps=1, **kw)


def _csv_points(csv_logger: CSVLogger, key: str) -> list[tuple[int, float]]:
    with open(os.path.join(csv_logger.log_dir, "metrics.csv"), newline="") as fh:
        return [(int(row["step"]), float(row[key])) for row in csv.DictReader(fh) if row.get(key)]


def test_fit_logs_what_lightning_reports(tmp_path, logdir):
    logger = SeeTrainLogger(project="pl", experiment_name="fit", description="tiny", config={"data": "synthetic"},
                            tags=["unit"], logdir=logdir, **SEETRAIN_KW)
    csv_logger = CSVLogger(str(tmp_path / "csv"))
    ckpt = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), monitor="val/loss", save_top_k=1, save_last=True)
    trainer = _trainer(tmp_path, [logger, csv_logger], callbacks=[ckpt])
    trainer.fit(TinyModule(), _loader(), _loader(16, seed=1))

    (view,) = seetrain.Api(logdir).runs("pl")
    assert view.status == "finished"
    assert view.name == "fit" and view.description == "tiny" and "unit" in view.tags
    assert view.config["framework"]["name"] == "pytorch_lightning"
    assert view.config["framework"]["version"] == lp.__version__
    assert "pytorch_lightning" in view.tags
    # Hyperparameters from save_hyperparameters() next to the user's config.
    assert view.config["lr"] == 0.05 and view.config["hidden"] == 8 and view.config["data"] == "synthetic"
    assert logger.name == "pl" and logger.version == view.id and logger.log_dir == view.dir

    # Same keys, steps and values as Lightning handed to its own CSVLogger.
    for key in ("train/loss", "val/loss", "epoch"):
        expected = _csv_points(csv_logger, key)
        got = [(step, value) for step, _, value in view.scalars(key)]
        assert len(expected) > 0 and len(got) == len(expected), key
        for (s1, v1), (s2, v2) in zip(got, expected):
            assert s1 == s2 and math.isclose(v1, v2, rel_tol=1e-5), (key, s1, s2)
    # 8 batches per epoch, 2 epochs, logged every step.
    assert [s for s, _, _ in view.scalars("train/loss")] == list(range(16))
    assert [s for s, _, _ in view.scalars("val/loss")] == [7, 15]

    checkpoints = view.media("checkpoint", kind="checkpoint")
    assert checkpoints, "after_save_checkpoint was not recorded"
    paths = {c.payload["path"] for c in checkpoints}
    assert all(p.startswith(str(tmp_path / "ckpt")) for p in paths)
    assert ckpt.best_model_path in view.metadata["checkpoints"]["paths"]
    assert view.metadata["checkpoints"]["best_model_path"] == ckpt.best_model_path

    (summary,) = view.media("model_summary", kind="model_summary")
    assert summary.payload["total_params"] == sum(p.numel() for p in trainer.lightning_module.parameters())
    assert summary.payload["rows"][0]["name"] == "net"
    assert view.metadata["model"]["class"] == "TinyModule"


def test_default_checkpoints_go_into_the_run_folder(tmp_path, logdir):
    logger = SeeTrainLogger(project="pl", logdir=logdir, **SEETRAIN_KW)
    trainer = _trainer(tmp_path, logger, max_epochs=1)
    trainer.fit(TinyModule(), _loader())
    (view,) = seetrain.Api(logdir).runs("pl")
    ckpt_dir = os.path.join(view.dir, "checkpoints")
    assert os.listdir(ckpt_dir), "the default ModelCheckpoint should save under the run folder"
    assert view.media("checkpoint", kind="checkpoint")[0].payload["path"].startswith(ckpt_dir)


def test_pytorch_lightning_trainer_accepts_the_logger(tmp_path, logdir):
    pl = pytest.importorskip("pytorch_lightning")

    class PLModule(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.layer = torch.nn.Linear(4, 1)

        def training_step(self, batch, batch_idx):
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.layer(x), y)
            self.log("loss", loss)
            return loss

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.01)

    logger = SeeTrainLogger(project="pl-classic", logdir=logdir, **SEETRAIN_KW)
    trainer = _trainer(tmp_path, logger, trainer_cls=pl.Trainer, max_epochs=1, enable_checkpointing=False)
    trainer.fit(PLModule(), _loader())
    (view,) = seetrain.Api(logdir).runs("pl-classic")
    assert view.status == "finished"
    assert [s for s, _, _ in view.scalars("loss")] == list(range(8))


def test_fit_then_test_continues_the_same_run(tmp_path, logdir):
    logger = SeeTrainLogger(project="pl", logdir=logdir, **SEETRAIN_KW)
    trainer = _trainer(tmp_path, logger, max_epochs=1, enable_checkpointing=False)
    model = TinyModule()
    trainer.fit(model, _loader())
    first_id = logger.version
    trainer.test(model, _loader(8, seed=2))
    runs = seetrain.Api(logdir).runs("pl")
    assert len(runs) == 1 and runs[0].id == first_id
    assert runs[0].status == "finished"
    assert runs[0].scalars("test/loss") and runs[0].scalars("train/loss")


def test_hub_integration_binds_the_logger(tmp_path, logdir):
    integration = main.init_pytorch_lightning(project="hub", experiment_name="e", description="d",
                                              logdir=str(logdir), **SEETRAIN_KW)
    assert isinstance(integration, LightningIntegration)
    logger = integration.get_callback()
    assert isinstance(logger, SeeTrainLogger) and logger.experiment is integration.run
    trainer = _trainer(tmp_path, logger, max_epochs=1, enable_checkpointing=False)
    trainer.fit(TinyModule(), _loader())
    # The hub owns the run: Lightning's finalize() leaves it open for more logging.
    main.log({"after/fit": 1.0}, step=100)
    stats = integration.get_stats()
    assert stats["records_sent"] >= 9 and stats["degraded_calls"] == 0
    integration.finish()
    integration.finish()
    (view,) = seetrain.Api(logdir).runs("hub")
    assert view.status == "finished" and view.scalars("after/fit") == [(100, view.scalars("after/fit")[0][1], 1.0)]


def test_failed_training_marks_the_run_failed(tmp_path, logdir):
    logger = SeeTrainLogger(project="pl", logdir=logdir, **SEETRAIN_KW)
    trainer = _trainer(tmp_path, logger, max_epochs=1, enable_checkpointing=False)
    with pytest.raises(RuntimeError, match="boom in training_step"):
        trainer.fit(TinyModule(fail_at_step=3), _loader())
    (view,) = seetrain.Api(logdir).runs("pl")
    assert view.status == "failed"
    assert "boom in training_step" in view.metadata["error"]
    assert [s for s, _, _ in view.scalars("train/loss")] == [0, 1, 2]


def test_seetrain_failure_does_not_break_training(tmp_path, logdir, monkeypatch):
    logger = SeeTrainLogger(project="pl", logdir=logdir, **SEETRAIN_KW)

    def broken_log(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(logger.experiment, "log", broken_log)
    trainer = _trainer(tmp_path, logger, max_epochs=1, enable_checkpointing=False)
    trainer.fit(TinyModule(), _loader())
    assert trainer.global_step == 8
    stats = logger.integration.get_stats()
    assert stats["degraded_calls"] >= 8 and stats["errors"] == {"OSError": stats["degraded_calls"]}
    (view,) = seetrain.Api(logdir).runs("pl")
    assert view.status == "finished"


def test_non_zero_rank_writes_nothing(tmp_path, logdir, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    logger = SeeTrainLogger(project="pl", logdir=logdir, **SEETRAIN_KW)
    logger.log_hyperparams({"lr": 0.1})
    logger.log_metrics({"loss": 1.0}, step=0)
    logger.log_graph(torch.nn.Linear(2, 2))
    assert isinstance(logger.experiment, seetrain.DisabledRun)
    assert logger.version is None and logger.save_dir is None
    logger.finalize("success")
    assert seetrain.Api(logdir).runs() == []
    assert main.active_integrations() == []


@dataclasses.dataclass
class _Params:
    lr: float = 0.1
    layers: int = 2


class _OmegaLike:
    """Stands in for an omegaconf DictConfig: only ``to_container(resolve=True)`` is used."""

    def to_container(self, resolve: bool = False):
        return {"model": {"depth": 3}, "resolved": resolve}


def test_log_hyperparams_accepts_the_usual_forms(logdir):
    logger = SeeTrainLogger(project="hp", logdir=logdir, **SEETRAIN_KW)
    logger.log_hyperparams(argparse.Namespace(batch=16, opt=argparse.Namespace(name="sgd")))
    logger.log_hyperparams({"dropout": 0.1})
    logger.log_hyperparams(_Params())
    logger.log_hyperparams(_OmegaLike())
    logger.log_hyperparams(None)
    logger.log_hyperparams({"seed": 1}, metrics={"hp_metric": 0.5})
    logger.finalize("success")
    logger.finalize("success")  # harmless twice
    (view,) = seetrain.Api(logdir).runs("hp")
    cfg = view.config
    assert cfg["batch"] == 16 and cfg["opt"] == {"name": "sgd"} and cfg["dropout"] == 0.1
    assert cfg["lr"] == 0.1 and cfg["layers"] == 2
    assert cfg["model"] == {"depth": 3} and cfg["resolved"] is True and cfg["seed"] == 1
    assert [v for _, _, v in view.scalars("hp_metric")] == [0.5]
    assert view.status == "finished"


def test_logger_pickles_for_spawned_workers(logdir):
    import pickle

    logger = SeeTrainLogger(project="pickled", logdir=logdir, **SEETRAIN_KW)
    logger.log_metrics({"a": 1.0}, step=0)
    clone = pickle.loads(pickle.dumps(logger))
    clone.log_metrics({"a": 2.0}, step=0)
    assert clone.version != logger.version  # a worker gets its own run
    logger.finalize("success")
    clone.finalize("success")
    assert sorted(v for r in seetrain.Api(logdir).runs("pickled") for _, _, v in r.scalars("a")) == [1.0, 2.0]


def test_hub_path_with_uncreatable_logdir_degrades(tmp_path, caplog):
    from integrations import errors

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    errors.reset_error_stats()
    with caplog.at_level("WARNING", logger="seetrain"):
        with main.with_integration("pytorch_lightning", project="p", logdir=str(blocker / "logs"),
                                   **SEETRAIN_KW) as integration:
            trainer = lp.Trainer(max_steps=3, logger=integration.get_callback(), enable_checkpointing=False,
                                 enable_progress_bar=False, enable_model_summary=False,
                                 default_root_dir=str(tmp_path / "root"), limit_val_batches=0, log_every_n_steps=1)
            trainer.fit(TinyModule(), _loader())
            stats = errors.get_integration_error_stats()
    assert trainer.global_step == 3  # training went on
    (own,) = stats["integrations"].values()
    assert own["degraded_calls"] == stats["global"]["degraded_calls"] == 1
    assert len([r for r in caplog.records if "NotADirectoryError" in r.getMessage()]) == 1
