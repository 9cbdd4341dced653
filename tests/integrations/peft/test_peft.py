"""PEFT: a LoRA adapter on a tiny BERT (from a config) trained by the HF Trainer; the adapter
config and the trainable counts land in the run config."""

from __future__ import annotations

import pytest

pytest.importorskip("peft")
torch = pytest.importorskip("torch")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.peft import log_peft_config  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


def _lora_bert():
    from peft import LoraConfig, get_peft_model
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    base = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=16, num_hidden_layers=1,
                                                    num_attention_heads=2, intermediate_size=32,
                                                    max_position_embeddings=16, num_labels=2))
    return get_peft_model(base, LoraConfig(r=4, lora_alpha=8, target_modules=["query", "value"],
                                           task_type="SEQ_CLS"))


class Data(torch.utils.data.Dataset):
    def __init__(self):
        self.ids = torch.randint(1, 100, (8, 8), generator=torch.Generator().manual_seed(0))

    def __len__(self):
        return 8

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": (self.ids[i, 0] > 50).long()}


def test_hf_trainer_records_the_lora_config(tmp_path):
    from transformers import Trainer, TrainingArguments

    model = _lora_bert()
    integration = main.init_peft(project="lora", logdir=str(tmp_path), **QUIET)
    args = TrainingArguments(output_dir=str(tmp_path / "out"), report_to=[], max_steps=2, logging_steps=1,
                             per_device_train_batch_size=4, use_cpu=True, save_strategy="no", disable_tqdm=True)
    Trainer(model=model, args=args, train_dataset=Data(), callbacks=[integration.get_callback()]).train()
    integration.finish()
    (view,) = seetrain.Api(tmp_path).runs("lora")
    peft = view.config["peft"]
    adapter = peft["adapters"]["default"]
    assert adapter["peft_type"] == "LORA" and adapter["r"] == 4 and adapter["lora_alpha"] == 8
    assert sorted(adapter["target_modules"]) == ["query", "value"]
    trainable, total = model.get_nb_trainable_parameters()
    assert peft["trainable_params"] == trainable and peft["total_params"] == total
    assert 0 < peft["trainable_percent"] < 100 and "train/loss" in view.keys()
    assert view.config["framework"]["name"] == "peft"


def test_log_peft_config_in_a_custom_loop(tmp_path):
    model = _lora_bert()
    seetrain.init(project="lora-loop", logdir=str(tmp_path), **QUIET)
    summary = log_peft_config(model)
    seetrain.finish()
    (view,) = seetrain.Api(tmp_path).runs("lora-loop")
    assert view.config["peft"] == summary and summary["active_adapter"] == "default"
