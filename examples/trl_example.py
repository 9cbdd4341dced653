"""TRL + SeeTrain: SFT then DPO on a tiny GPT-2 built from a config with an in-memory tokenizer (no
download); every metric TRL logs lands in the runs.

    python examples/trl_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse
import random

import torch
from datasets import Dataset
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast
from trl import DPOConfig, DPOTrainer, SFTConfig, SFTTrainer

from integrations.trl import SeeTrainCallback

WORDS = "the cat dog sat on mat ran fast slow good bad yes no hello world".split()


def tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2, **{w: i + 3 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


def gpt2(vocab: int) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    return GPT2LMHeadModel(GPT2Config(vocab_size=vocab, n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                      pad_token_id=0, eos_token_id=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    rng = random.Random(0)
    text = [" ".join(rng.choice(WORDS) for _ in range(8)) for _ in range(32)]
    tok = tokenizer()
    common = {"max_steps": 6, "per_device_train_batch_size": 4, "logging_steps": 2, "report_to": [],
              "use_cpu": True, "save_strategy": "no", "disable_tqdm": True, "learning_rate": 1e-3}
    model = gpt2(len(tok))
    SFTTrainer(model=model, processing_class=tok, train_dataset=Dataset.from_dict({"text": text}),
               args=SFTConfig(output_dir="trl_out/sft", max_length=16, **common),
               callbacks=[SeeTrainCallback(project="trl-example", experiment_name="sft",
                                           logdir=args.logdir)]).train()
    pairs = Dataset.from_dict({"prompt": text[:16], "chosen": text[16:], "rejected": list(reversed(text[16:]))})
    DPOTrainer(model=model, ref_model=gpt2(len(tok)), processing_class=tok, train_dataset=pairs,
               args=DPOConfig(output_dir="trl_out/dpo", beta=0.1, max_length=32, **common),
               callbacks=[SeeTrainCallback(project="trl-example", experiment_name="dpo",
                                           logdir=args.logdir)]).train()


if __name__ == "__main__":
    main()
