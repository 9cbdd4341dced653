"""Sentence Transformers + SeeTrain: a tiny BERT (built from a config, saved locally, no download)
trained with CosineSimilarityLoss and an STS-style evaluator.

    python examples/sentence_transformers_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse
import random
import tempfile

import torch
from datasets import Dataset
from sentence_transformers import (
    SentenceTransformer,
    SentenceTransformerTrainer,
    SentenceTransformerTrainingArguments,
)
from sentence_transformers.sentence_transformer import losses
from sentence_transformers.sentence_transformer import modules as st_modules
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

from integrations.sentence_transformers import SeeTrainCallback, log_model_card

WORDS = "the cat dog sat on mat ran fast slow good bad yes no hello world".split()


def tiny_model(path: str) -> SentenceTransformer:
    vocab = {"[PAD]": 0, "[UNK]": 1, **{w: i + 2 for i, w in enumerate(WORDS)}}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]").save_pretrained(path)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64, max_position_embeddings=64)).save_pretrained(path)
    word = st_modules.Transformer(path, max_seq_length=16)
    return SentenceTransformer(modules=[word, st_modules.Pooling(word.get_embedding_dimension())], device="cpu")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    rng = random.Random(0)
    a = [" ".join(rng.choice(WORDS) for _ in range(5)) for _ in range(32)]
    b = [" ".join(rng.choice(WORDS) for _ in range(5)) for _ in range(32)]
    scores = [rng.random() for _ in range(32)]
    with tempfile.TemporaryDirectory() as path:
        model = tiny_model(path)
        training = SentenceTransformerTrainingArguments(output_dir="st_out", max_steps=8, logging_steps=2,
                                                        per_device_train_batch_size=8, report_to=[], use_cpu=True,
                                                        save_strategy="no", eval_strategy="steps", eval_steps=4,
                                                        disable_tqdm=True)
        callback = SeeTrainCallback(project="sentence-transformers-example", experiment_name="sts",
                                    logdir=args.logdir)
        trainer = SentenceTransformerTrainer(
            model=model, args=training,
            train_dataset=Dataset.from_dict({"sentence1": a, "sentence2": b, "score": scores}),
            loss=losses.CosineSimilarityLoss(model), callbacks=[callback],
            evaluator=EmbeddingSimilarityEvaluator(a[:8], b[:8], scores[:8], name="sts"))
        trainer.train()
        import seetrain

        with seetrain.init(project="sentence-transformers-example", experiment_name="card",
                           logdir=args.logdir) as run:
            print(log_model_card(model, run=run))


if __name__ == "__main__":
    main()
