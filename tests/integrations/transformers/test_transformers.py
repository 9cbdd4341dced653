"""SeeTrainCallback driven by a real HF Trainer on the CPU: a tiny BERT built from a config (no
download) on synthetic token ids."""

from __future__ import annotations

import os

import pytest

for _name, _value in {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "DO_NOT_TRACK": "true",
                      "TOKENIZERS_PARALLELISM": "false", "WANDB_MODE": "disabled"}.items():
    os.environ.setdefault(_name, _value)

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from transformers import (  # noqa: E402
    BertConfig,
    BertForSequenceClassification,
    Trainer,
    TrainingArguments,
)
from transformers.integrations.integration_utils import (  # noqa: E402
    INTEGRATION_TO_CALLBACK,
    get_available_reporting_integrations,
)

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.transformers import SeeTrainCallback, TransformersIntegration  # noqa: E402

pytestmark = pytest.mark.integration
SEETRAIN_KW = {"system_monitor": False, "capture_console": False}


class TokenDataset(torch.utils.data.Dataset):
    def __init__(self, n: int = 24, seq: int = 8, seed: int = 0) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 100, (n, seq), generator=gen)
        self.labels = (self.ids[:, 0] > 50).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


def tiny_model() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    return BertForSequenceClassification(config)


def training_args(tmp_path, **kw) -> TrainingArguments:
    values = dict(output_dir=str(tmp_path / "out"), report_to=[], max_steps=6, logging_steps=2,
                  per_device_train_batch_size=4, per_device_eval_batch_size=8, use_cpu=True,
                  save_strategy="no", disable_tqdm=True, learning_rate=1e-3, seed=0)
    values.update(kw)
    return TrainingArguments(**values)


class LogRecorder(transformers.TrainerCallback):
    """What the Trainer itself reported through on_log, to compare against."""

    def __init__(self) -> None:
        self.logs: list[tuple[int, dict]] = []

    def on_log(self, args, state, control, logs=None, **kwargs):
        self.logs.append((state.global_step, dict(logs or {})))


def test_callback_logs_what_the_trainer_reports(tmp_path, logdir):
    recorder = LogRecorder()
    callback = SeeTrainCallback(project="hf", experiment_name="bert", config={"data": "synthetic"},
                                logdir=logdir, **SEETRAIN_KW)
    model = tiny_model()
    trainer = Trainer(model=model, args=training_args(tmp_path, eval_strategy="steps", eval_steps=3),
                      train_dataset=TokenDataset(), eval_dataset=TokenDataset(8, seed=1),
                      callbacks=[callback, recorder])
    trainer.train()

    (view,) = seetrain.Api(logdir).runs("hf")
    assert view.status == "finished" and view.name == "bert"
    train_logs = [(step, logs) for step, logs in recorder.logs if "loss" in logs]
    assert [s for s, _ in train_logs] == [2, 4, 6]
    got = view.scalars("train/loss")
    assert [(s, round(v, 6)) for s, _, v in got] == [(s, round(logs["loss"], 6)) for s, logs in train_logs]
    assert [s for s, _, _ in view.scalars("train/learning_rate")] == [2, 4, 6]
    assert [s for s, _, _ in view.scalars("eval/loss")] == [3, 6]
    assert [s for s, _, _ in view.scalars("train_runtime")] == [6]
    assert view.summary["train_loss"]["last"] > 0

    cfg = view.config
    assert cfg["framework"]["name"] == "transformers" and cfg["framework"]["version"] == transformers.__version__
    assert cfg["data"] == "synthetic" and cfg["max_steps"] == 6 and cfg["learning_rate"] == 1e-3
    assert cfg["model_config"]["hidden_size"] == 16 and cfg["model_config"]["model_type"] == "bert"
    assert cfg["model_parameters"] == sum(p.numel() for p in model.parameters())
    assert view.metadata["model"]["class"] == "BertForSequenceClassification"
    assert callback.integration.get_stats()["degraded_calls"] == 0


def test_report_to_seetrain(tmp_path, logdir, monkeypatch):
    monkeypatch.setenv("SEETRAIN_LOGDIR", str(logdir))
    monkeypatch.setenv("SEETRAIN_PROJECT", "hf-report-to")
    assert INTEGRATION_TO_CALLBACK["seetrain"] is SeeTrainCallback
    assert "seetrain" not in get_available_reporting_integrations()  # not part of report_to="all"
    trainer = Trainer(model=tiny_model(), args=training_args(tmp_path, report_to=["seetrain"], run_name="rt"),
                      train_dataset=TokenDataset())
    assert any(isinstance(cb, SeeTrainCallback) for cb in trainer.callback_handler.callbacks)
    trainer.train()
    (view,) = seetrain.Api(logdir).runs("hf-report-to")
    assert view.status == "finished" and view.name == "rt"
    assert [s for s, _, _ in view.scalars("train/loss")] == [2, 4, 6]


def test_evaluate_after_train_continues_the_run(tmp_path, logdir):
    callback = SeeTrainCallback(project="hf", logdir=logdir, **SEETRAIN_KW)
    trainer = Trainer(model=tiny_model(), args=training_args(tmp_path), train_dataset=TokenDataset(),
                      eval_dataset=TokenDataset(8, seed=1), callbacks=[callback])
    trainer.train()
    first_id = callback.integration.run.id
    metrics = trainer.evaluate()
    assert callback.integration.enabled  # reopened for the evaluation
    predictions = trainer.predict(TokenDataset(8, seed=2))
    callback.integration.finish()
    (view,) = seetrain.Api(logdir).runs("hf")
    assert view.id == first_id and view.status == "finished"
    assert view.scalars("test/loss")[0][2] == pytest.approx(predictions.metrics["test_loss"])
    assert [s for s, _, _ in view.scalars("train/loss")] == [2, 4, 6]
    assert view.scalars("eval/loss")[-1][0] == 6
    assert view.scalars("eval/loss")[-1][2] == pytest.approx(metrics["eval_loss"])


def test_hub_integration_and_checkpoints(tmp_path, logdir):
    integration = main.init_transformers(project="hf-hub", logdir=str(logdir), **SEETRAIN_KW)
    assert isinstance(integration, TransformersIntegration)
    callback = integration.get_callback()
    trainer = Trainer(model=tiny_model(), args=training_args(tmp_path, save_strategy="steps", save_steps=3),
                      train_dataset=TokenDataset(), callbacks=[callback])
    trainer.train()
    main.log({"extra": 1.0}, step=7)
    integration.finish()
    integration.finish()
    (view,) = seetrain.Api(logdir).runs("hf-hub")
    assert view.status == "finished" and view.scalars("extra")[0][0] == 7
    checkpoints = view.media("checkpoint", kind="checkpoint")
    assert [c.payload["global_step"] for c in checkpoints] == [3, 6]
    assert all(os.path.isdir(c.payload["path"]) for c in checkpoints)


def test_seetrain_failure_does_not_break_training(tmp_path, logdir, monkeypatch):
    def broken_log(self, *args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(seetrain.Run, "log", broken_log)
    callback = SeeTrainCallback(project="hf", logdir=logdir, **SEETRAIN_KW)
    trainer = Trainer(model=tiny_model(), args=training_args(tmp_path), train_dataset=TokenDataset(),
                      callbacks=[callback])
    result = trainer.train()
    assert result.global_step == 6
    assert callback.integration.get_stats()["degraded_calls"] >= 3


def test_non_zero_rank_writes_nothing(tmp_path, logdir, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    callback = SeeTrainCallback(project="hf", logdir=logdir, **SEETRAIN_KW)
    trainer = Trainer(model=tiny_model(), args=training_args(tmp_path), train_dataset=TokenDataset(),
                      callbacks=[callback])
    trainer.train()
    assert seetrain.Api(logdir).runs() == []
