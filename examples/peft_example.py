"""PEFT + SeeTrain: LoRA on a tiny BERT (built from a config, no download) trained by the HF
Trainer; the LoRA config and trainable-parameter counts land in the run config.

    python examples/peft_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse

import torch
from peft import LoraConfig, get_peft_model
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

from integrations.transformers import SeeTrainCallback


class Data(torch.utils.data.Dataset):
    def __init__(self, n: int = 64) -> None:
        self.ids = torch.randint(1, 100, (n, 8), generator=torch.Generator().manual_seed(0))

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": (self.ids[i, 0] > 50).long()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    torch.manual_seed(0)
    base = BertForSequenceClassification(BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2,
                                                    num_attention_heads=2, intermediate_size=64, num_labels=2))
    model = get_peft_model(base, LoraConfig(r=8, lora_alpha=16, target_modules=["query", "value"],
                                            task_type="SEQ_CLS"))
    training = TrainingArguments(output_dir="peft_out", report_to=[], max_steps=10, logging_steps=2,
                                 per_device_train_batch_size=8, use_cpu=True, save_strategy="no",
                                 disable_tqdm=True, learning_rate=1e-3)
    Trainer(model=model, args=training, train_dataset=Data(),
            callbacks=[SeeTrainCallback(project="peft-example", experiment_name="lora",
                                        logdir=args.logdir)]).train()


if __name__ == "__main__":
    main()
