"""HF Transformers Trainer + SeeTrain: a tiny BERT built from a config (no download) trained for a
few steps on synthetic token ids, on the CPU.

    python examples/transformers_example.py [--logdir ./seetrain_logs] [--report-to]

``--report-to`` uses ``TrainingArguments(report_to=["seetrain"])`` instead of ``callbacks=[...]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments  # noqa: E402

from integrations.transformers import SeeTrainCallback  # noqa: E402  (also registers report_to="seetrain")


class TokenDataset(torch.utils.data.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        gen = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 100, (n, 8), generator=gen)
        self.labels = (self.ids[:, 0] > 50).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": torch.ones_like(self.ids[i]), "labels": self.labels[i]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--report-to", action="store_true", help='use report_to=["seetrain"]')
    args = parser.parse_args()

    config = BertConfig(vocab_size=100, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir=output_dir, run_name="tiny-bert", max_steps=20, logging_steps=5, eval_strategy="steps",
            eval_steps=10, per_device_train_batch_size=8, learning_rate=1e-3, use_cpu=True, save_strategy="no",
            disable_tqdm=True, report_to=["seetrain"] if args.report_to else [])
        callbacks = []
        if args.report_to:
            # report_to builds the callback with no arguments: it reads these.
            os.environ.setdefault("SEETRAIN_LOGDIR", args.logdir)
            os.environ.setdefault("SEETRAIN_PROJECT", "transformers-example")
        else:
            callbacks.append(SeeTrainCallback(project="transformers-example", logdir=args.logdir))
        trainer = Trainer(model=model, args=training_args, train_dataset=TokenDataset(160, 0),
                          eval_dataset=TokenDataset(32, 1), callbacks=callbacks)
        trainer.train()
    print(f"logged to {args.logdir} (project transformers-example)")


if __name__ == "__main__":
    main()
