"""SEETRAIN_LOG_MODEL=checkpoint|end with a real HF Trainer: checkpoints and the final model as versions."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers import BertForSequenceClassification, Trainer  # noqa: E402

import seetrain  # noqa: E402
from integrations.transformers import SeeTrainCallback  # noqa: E402
from tests.integrations.transformers.test_transformers import (  # noqa: E402
    SEETRAIN_KW,
    TokenDataset,
    tiny_model,
    training_args,
)

pytestmark = pytest.mark.integration


def test_log_model_checkpoint_logs_each_saved_folder_and_best(tmp_path, logdir, monkeypatch):
    monkeypatch.setenv("SEETRAIN_LOG_MODEL", "checkpoint")
    callback = SeeTrainCallback(project="p", logdir=logdir, **SEETRAIN_KW)
    args = training_args(tmp_path, save_strategy="steps", save_steps=3, eval_strategy="steps", eval_steps=3,
                         load_best_model_at_end=True, metric_for_best_model="eval_loss")
    trainer = Trainer(model=tiny_model(), args=args, train_dataset=TokenDataset(),
                      eval_dataset=TokenDataset(n=8, seed=1), callbacks=[callback])
    trainer.train()
    run_id = callback.integration.run.id
    api = seetrain.Api(logdir)
    versions = api.artifact_versions(f"p/model-{run_id}")
    assert [v.metadata["global_step"] for v in versions] == [3, 6]
    assert {"checkpoint-3", "checkpoint-6"} <= {a for v in versions for a in v.aliases}
    files = {f.path for f in versions[0].files}
    assert {"model.safetensors", "config.json", "trainer_state.json"} <= files
    best = api.artifact(f"p/model-{run_id}:best")
    assert os.path.basename(trainer.state.best_model_checkpoint) in best.aliases
    restored = BertForSequenceClassification.from_pretrained(best.download(tmp_path / "best"))
    assert restored.config.hidden_size == 16


def test_log_model_end_logs_the_final_model(tmp_path, logdir):
    callback = SeeTrainCallback(project="p", logdir=logdir, log_model="end", **SEETRAIN_KW)
    model = tiny_model()
    trainer = Trainer(model=model, args=training_args(tmp_path), train_dataset=TokenDataset(), callbacks=[callback])
    trainer.train()
    art = seetrain.Api(logdir).artifact(f"p/model-{callback.integration.run.id}:end")
    assert art.version == "v0" and art.metadata["global_step"] == 6 and art.metadata["model_class"] == model.__class__.__name__
    restored = BertForSequenceClassification.from_pretrained(art.download(tmp_path / "final"))
    for (name, a), (_, b) in zip(model.state_dict().items(), restored.state_dict().items()):
        assert torch.equal(a, b), name


def test_log_model_off_by_default(tmp_path, logdir):
    callback = SeeTrainCallback(project="p", logdir=logdir, **SEETRAIN_KW)
    Trainer(model=tiny_model(), args=training_args(tmp_path, save_strategy="steps", save_steps=3),
            train_dataset=TokenDataset(), callbacks=[callback]).train()
    assert seetrain.Api(logdir).artifacts("p") == []
