"""Sentence Transformers: a tiny BERT built from a config and saved locally (no download) trained
for two steps by SentenceTransformerTrainer with an evaluator."""

from __future__ import annotations

import pytest

pytest.importorskip("sentence_transformers")
datasets = pytest.importorskip("datasets")
torch = pytest.importorskip("torch")

import seetrain  # noqa: E402
from integrations.sentence_transformers import SeeTrainCallback, log_model_card  # noqa: E402
from tests.integrations._tiny_hf import WORDS, sentences, tiny_tokenizer  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


def _tiny_model(tmp_path):
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer import modules as models
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    tokenizer = tiny_tokenizer()
    path = tmp_path / "tiny-bert"
    BertModel(BertConfig(vocab_size=len(WORDS) + 4, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64)).save_pretrained(path)
    tokenizer.save_pretrained(path)
    word = models.Transformer(str(path), max_seq_length=16)
    return SentenceTransformer(modules=[word, models.Pooling(word.get_embedding_dimension())], device="cpu")


def test_trainer_with_evaluator(tmp_path):
    from sentence_transformers import SentenceTransformerTrainer, SentenceTransformerTrainingArguments
    from sentence_transformers.sentence_transformer import losses
    from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator

    model = _tiny_model(tmp_path)
    a, b = sentences(8, 1), sentences(8, 2)
    train = datasets.Dataset.from_dict({"sentence1": a, "sentence2": b, "score": [i / 8 for i in range(8)]})
    evaluator = EmbeddingSimilarityEvaluator(a[:4], b[:4], [0.1, 0.4, 0.6, 0.9], name="sts")
    args = SentenceTransformerTrainingArguments(output_dir=str(tmp_path / "out"), max_steps=2, logging_steps=1,
                                                per_device_train_batch_size=4, report_to=[], use_cpu=True,
                                                save_strategy="no", eval_strategy="steps", eval_steps=2,
                                                disable_tqdm=True)
    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=train,
                                         loss=losses.CosineSimilarityLoss(model), evaluator=evaluator,
                                         callbacks=[SeeTrainCallback(project="st", logdir=str(tmp_path), **QUIET)])
    trainer.train()
    (view,) = seetrain.Api(tmp_path).runs("st")
    assert "train/loss" in view.keys() and view.status == "finished"
    assert "eval/sts_spearman_cosine" in view.keys(), view.keys()
    run = seetrain.init(project="st-card", logdir=str(tmp_path), **QUIET)
    card = log_model_card(model, run=run)
    run.finish()
    assert card["modules"] == ["Transformer", "Pooling"] and card["embedding_dim"] == 16
