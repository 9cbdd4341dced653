"""MMEngine + SeeTrain: a toy classifier trained by a real Runner built from a config.

    python examples/mmengine_example.py [--logdir ./seetrain_logs] [--mmdetection]

The config names the backend the way an OpenMMLab config file would:
``visualizer=dict(type="Visualizer", vis_backends=[dict(type="SeeTrainVisBackend", ...)])``.
"""

from __future__ import annotations

import argparse
import tempfile

import torch
from mmengine.config import Config
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.registry import DATASETS, METRICS, MODELS
from mmengine.runner import Runner

import integrations.mmengine  # noqa: F401 - registers SeeTrainVisBackend (custom_imports in a config file)
import seetrain


@DATASETS.register_module(force=True)
class ToyDataset(torch.utils.data.Dataset):
    def __init__(self, n: int = 64) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=gen)
        self.y = (self.x.sum(dim=1) > 0).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"inputs": self.x[i], "labels": self.y[i]}


@MODELS.register_module(force=True)
class ToyModel(BaseModel):
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 2)

    def forward(self, inputs, labels, mode="tensor"):
        logits = self.linear(inputs)
        if mode == "loss":
            return {"loss": torch.nn.functional.cross_entropy(logits, labels)}
        if mode == "predict":
            return [(logits.argmax(dim=1), labels)]
        return logits


@METRICS.register_module(force=True)
class ToyAccuracy(BaseMetric):
    def process(self, data_batch, data_samples) -> None:
        for pred, labels in data_samples:
            self.results.append(((pred == labels).sum().item(), len(labels)))

    def compute_metrics(self, results) -> dict:
        return {"accuracy": sum(r[0] for r in results) / sum(r[1] for r in results)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--mmdetection", action="store_true", help="tag the run as mmdetection")
    args = parser.parse_args()

    loader = dict(batch_size=8, dataset=dict(type="ToyDataset"), num_workers=0,
                  sampler=dict(type="DefaultSampler", shuffle=True), collate_fn=dict(type="default_collate"))
    backend = dict(type="SeeTrainVisBackend",
                   framework="mmdetection" if args.mmdetection else "mmengine",
                   init_kwargs=dict(project="mmengine-example", experiment_name="toy-classifier",
                                    logdir=args.logdir))
    with tempfile.TemporaryDirectory() as work_dir:
        cfg = Config(dict(
            model=dict(type="ToyModel"), work_dir=work_dir,
            train_dataloader=loader, val_dataloader=loader,
            train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1), val_cfg=dict(),
            val_evaluator=dict(type="ToyAccuracy"),
            optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.1)),
            default_hooks=dict(logger=dict(type="LoggerHook", interval=2), checkpoint=None),
            visualizer=dict(type="Visualizer", vis_backends=[backend]),
            env_cfg=dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo")),
            launcher="none", randomness=dict(seed=0),
        ))
        Runner.from_cfg(cfg).train()

    run = seetrain.Api(args.logdir).runs("mmengine-example")[-1]
    print(f"run {run.id}: status={run.status} framework={run.framework} "
          f"loss points={len(run.scalars('loss'))} accuracy={run.summary['accuracy']['last']:.2f}")


if __name__ == "__main__":
    main()
