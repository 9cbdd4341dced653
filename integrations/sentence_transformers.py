"""Sentence Transformers: ``SentenceTransformerTrainer`` is a ``transformers.Trainer`` subclass, so
the HF callback records it (loss, learning rate, evaluator metrics such as
``eval/<evaluator>_spearman_cosine`` at the global step; the training arguments and the model
config). ``log_model_card(model)`` adds what a Sentence Transformers model is made of: modules,
embedding dimension, max sequence length, similarity function.

    from sentence_transformers import SentenceTransformerTrainer
    from integrations.sentence_transformers import SeeTrainCallback

    trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=loss,
                                         callbacks=[SeeTrainCallback(project="st")])

See docs/integrations/sentence_transformers.md.
"""

from __future__ import annotations

from typing import Any

from integrations._binding import update_run_config
from integrations.transformers import SeeTrainCallback, TransformersIntegration

__all__ = ["SeeTrainCallback", "SentenceTransformersIntegration", "log_model_card", "model_summary"]


class SentenceTransformersIntegration(TransformersIntegration):
    """Hub entry: ``init_sentence_transformers(project=...).get_callback()`` (tagged
    ``sentence_transformers``)."""

    name = "sentence_transformers"

    def get_callback(self) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self)


def model_summary(model: Any) -> dict[str, Any]:
    """Modules, embedding dimension, max sequence length and similarity of a SentenceTransformer."""
    dimension = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    summary: dict[str, Any] = {"modules": [type(m).__name__ for m in model],
                               "embedding_dim": dimension(),
                               "max_seq_length": model.max_seq_length}
    similarity = getattr(model, "similarity_fn_name", None)
    if similarity is not None:
        summary["similarity_fn"] = str(similarity)
    return summary


def log_model_card(model: Any, run: Any = None) -> dict[str, Any]:
    """Write :func:`model_summary` under ``sentence_transformer`` into ``run``'s config (default:
    the current run); returns it."""
    summary = model_summary(model)
    update_run_config("sentence_transformer", summary, run, "log_model_card")
    return summary
