"""timm + SeeTrain: ``sync_timm()`` records the config of every ``timm.create_model`` and every
``timm.utils.update_summary`` row (what timm's train.py writes to summary.csv once per epoch).
Needs torchvision: run it in the vision lane's venv (``make test-vision`` builds .venv-vision).

    python examples/timm_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import timm
import timm.utils
import torch
from timm.optim import create_optimizer_v2
from timm.scheduler import create_scheduler_v2

from integrations.timm import sync_timm, unsync_timm


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    args = parser.parse_args()

    sync_timm(project="timm-example", experiment_name="test-resnet", logdir=args.logdir)
    try:
        torch.manual_seed(0)
        model = timm.create_model("test_resnet", num_classes=2)  # a tiny architecture, no download
        x, y = torch.randn(32, 3, 32, 32), torch.randint(0, 2, (32,))
        optimizer = create_optimizer_v2(model, opt="adamw", lr=1e-2, weight_decay=0.01)
        scheduler, epochs = create_scheduler_v2(optimizer, sched="cosine", num_epochs=3)
        loss_fn = torch.nn.CrossEntropyLoss()
        summary = Path(tempfile.mkdtemp()) / "summary.csv"
        for epoch in range(epochs):
            model.train()
            meter = timm.utils.AverageMeter()
            for i in range(0, 32, 8):
                loss = loss_fn(model(x[i:i + 8]), y[i:i + 8])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                meter.update(loss.item(), 8)
            model.eval()
            with torch.no_grad():
                logits = model(x)
            (top1,) = timm.utils.accuracy(logits, y, topk=(1,))
            timm.utils.update_summary(epoch, {"loss": meter.avg},
                                      {"loss": loss_fn(logits, y).item(), "top1": top1.item()}, summary,
                                      lr=optimizer.param_groups[0]["lr"], write_header=epoch == 0)
            scheduler.step(epoch + 1)
        print(summary.read_text())
    finally:
        unsync_timm()


if __name__ == "__main__":
    main()
