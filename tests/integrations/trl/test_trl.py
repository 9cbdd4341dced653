"""TRL's SFT and DPO trainers on a tiny GPT-2 built from a config (no download): every metric TRL
logs reaches the run."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")
datasets = pytest.importorskip("datasets")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.transformers import rewrite_logs  # noqa: E402
from integrations.trl import SeeTrainCallback  # noqa: E402
from tests.integrations._tiny_hf import sentences, tiny_gpt2, tiny_tokenizer  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}
COMMON = {"max_steps": 2, "per_device_train_batch_size": 2, "logging_steps": 1, "report_to": [],
          "use_cpu": True, "save_strategy": "no", "disable_tqdm": True, "learning_rate": 1e-3, "seed": 0}


class Recorder:
    """What TRL itself reported through on_log."""

    def __init__(self):
        import transformers

        class _R(transformers.TrainerCallback):
            logs: list = []

            def on_log(self, args, state, control, logs=None, **kwargs):
                self.logs.append(dict(logs or {}))

        self.callback = _R()


def test_sft_trainer(tmp_path):
    from trl import SFTConfig, SFTTrainer

    tokenizer = tiny_tokenizer()
    recorder = Recorder()
    trainer = SFTTrainer(model=tiny_gpt2(len(tokenizer)), processing_class=tokenizer,
                         args=SFTConfig(output_dir=str(tmp_path / "out"), max_length=16, **COMMON),
                         train_dataset=datasets.Dataset.from_dict({"text": sentences(8)}),
                         callbacks=[recorder.callback,
                                    SeeTrainCallback(project="trl", experiment_name="sft", logdir=str(tmp_path),
                                                     **QUIET)])
    trainer.train()
    (view,) = seetrain.Api(tmp_path).runs("trl")
    reported = {k for logs in recorder.callback.logs for k in logs}
    assert {"loss", "mean_token_accuracy", "num_tokens", "entropy"} <= reported
    for logs in recorder.callback.logs:  # every number TRL logged, under the adapter's key
        assert set(rewrite_logs(logs)) <= set(view.keys()), (logs, view.keys())
    assert view.config["max_length"] == 16 and view.status == "finished"


def test_dpo_trainer_through_the_hub(tmp_path):
    from trl import DPOConfig, DPOTrainer

    tokenizer = tiny_tokenizer()
    data = datasets.Dataset.from_dict({"prompt": sentences(4, 1), "chosen": sentences(4, 2),
                                       "rejected": sentences(4, 3)})
    integration = main.init_trl(project="trl-dpo", logdir=str(tmp_path), **QUIET)
    recorder = Recorder()
    trainer = DPOTrainer(model=tiny_gpt2(len(tokenizer)), ref_model=tiny_gpt2(len(tokenizer)),
                         processing_class=tokenizer, train_dataset=data,
                         args=DPOConfig(output_dir=str(tmp_path / "out"), beta=0.2, max_length=32, **COMMON),
                         callbacks=[recorder.callback, integration.get_callback()])
    trainer.train()
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("trl-dpo")
    reported = {k for logs in recorder.callback.logs for k in logs}
    assert {"rewards/chosen", "rewards/rejected", "rewards/margins", "rewards/accuracies"} <= reported
    for logs in recorder.callback.logs:
        assert set(rewrite_logs(logs)) <= set(view.keys()), (logs, view.keys())
    assert [s for s, _, _ in view.scalars("train/rewards/margins")] == [1, 2]
    assert view.config["beta"] == 0.2 and view.config["framework"]["name"] == "trl"
