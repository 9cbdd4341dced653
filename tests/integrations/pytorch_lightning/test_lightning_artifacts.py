"""SeeTrainLogger(log_model=...): real ModelCheckpoint files become artifact versions."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("lightning")
torch = pytest.importorskip("torch")

from lightning.pytorch.callbacks import ModelCheckpoint  # noqa: E402

import seetrain  # noqa: E402
from integrations.lightning import SeeTrainLogger  # noqa: E402
from tests.integrations.pytorch_lightning.test_pytorch_lightning import (  # noqa: E402
    SEETRAIN_KW,
    TinyModule,
    _loader,
    _trainer,
)

pytestmark = pytest.mark.integration


def _fit(tmp_path, logdir, log_model, **ckpt_kw):
    torch.manual_seed(0)
    logger = SeeTrainLogger(project="p", logdir=logdir, log_model=log_model, **SEETRAIN_KW)
    ckpt = ModelCheckpoint(dirpath=str(tmp_path / "ckpt"), monitor="val/loss", mode="min", **ckpt_kw)
    trainer = _trainer(tmp_path, logger, max_epochs=3, callbacks=[ckpt])
    trainer.fit(TinyModule(lr=0.2), _loader(), _loader(seed=1))
    return logger, ckpt


def test_log_model_all_logs_every_checkpoint_and_marks_best(tmp_path, logdir):
    logger, ckpt = _fit(tmp_path, logdir, "all", save_top_k=1, save_last=True)
    run_id = logger.version
    api = seetrain.Api(logdir)
    versions = api.artifact_versions(f"p/model-{run_id}")
    # 3 epoch checkpoints (each saved before top-1 deletes the previous) plus last.ckpt saves.
    names = {v.files[0].path for v in versions}
    # Top-1 saves a checkpoint at each epoch whose val/loss improved (deleting the previous one
    # right after): every one of them was stored before its deletion, plus last.ckpt.
    val = [value for _, _, value in api.run(f"p/{run_id}").scalars("val/loss")]
    improved = [e for e, v in enumerate(val) if v < min(val[:e], default=float("inf"))]
    assert len(val) == 3 and improved[0] == 0
    assert names == {f"epoch={e}-step={8 * (e + 1)}.ckpt" for e in improved} | {"last.ckpt"}, (names, val)
    assert all(v.type == "model" and v.created_by == run_id for v in versions)
    best = api.artifact(f"p/model-{run_id}:best")
    assert best.files[0].path == os.path.basename(ckpt.best_model_path)
    assert best.metadata["score"] == pytest.approx(float(ckpt.best_model_score))
    assert best.metadata["ModelCheckpoint"]["monitor"] == "val/loss"
    # The stored checkpoint is the real one: it loads back into the module.
    out = best.download(tmp_path / "restored")
    state = torch.load(os.path.join(out, best.files[0].path), weights_only=False)
    restored = TinyModule()
    restored.load_state_dict(state["state_dict"])
    assert api.artifact(f"p/model-{run_id}:latest").number == max(v.number for v in versions)


def test_log_model_true_logs_kept_checkpoints_at_the_end(tmp_path, logdir):
    logger, ckpt = _fit(tmp_path, logdir, True, save_top_k=2)
    versions = seetrain.Api(logdir).artifact_versions(f"p/model-{logger.version}")
    kept = sorted(os.path.basename(p) for p in ckpt.best_k_models)
    assert sorted(v.files[0].path for v in versions) == kept  # deleted ones were never logged
    best = seetrain.Api(logdir).artifact(f"p/model-{logger.version}:best")
    assert best.files[0].path == os.path.basename(ckpt.best_model_path)


def test_log_model_off_by_default(tmp_path, logdir):
    logger, _ = _fit(tmp_path, logdir, False, save_top_k=1)
    assert seetrain.Api(logdir).artifacts("p") == []
    assert logger.version
