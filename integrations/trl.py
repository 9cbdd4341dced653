"""TRL: ``SFTTrainer``, ``DPOTrainer``, ``GRPOTrainer`` ... are ``transformers.Trainer``
subclasses, so the HF callback records them: every metric TRL logs (``rewards/chosen``,
``rewards/margins``, ``logps/rejected``, ``num_tokens``, ``mean_token_accuracy``, ``reward``,
``completions/mean_length`` ...) arrives through ``on_log`` under ``train/<name>`` (``eval/<name>``
for evaluation), at the global step, and the TRL config (``beta``, ``max_length`` ...) with the
other training arguments in the run config. ``seetrain.autolog()`` covers them through
``Trainer.train``.

    from trl import SFTConfig, SFTTrainer
    from integrations.trl import SeeTrainCallback

    trainer = SFTTrainer(model=model, args=SFTConfig(output_dir="out", report_to=[]),
                         train_dataset=dataset, processing_class=tokenizer,
                         callbacks=[SeeTrainCallback(project="sft")])

See docs/integrations/trl.md.
"""

from __future__ import annotations

from integrations.transformers import SeeTrainCallback, TransformersIntegration

__all__ = ["SeeTrainCallback", "TRLIntegration"]


class TRLIntegration(TransformersIntegration):
    """Hub entry: ``init_trl(project=...).get_callback()`` is the HF callback, tagged ``trl``."""

    name = "trl"

    def get_callback(self) -> SeeTrainCallback:
        return SeeTrainCallback(integration=self)
