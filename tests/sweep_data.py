"""A generated hyperparameter sweep, written through the real SDK (seetrain.init / log)."""

from __future__ import annotations

import math
from pathlib import Path

OPTIMIZERS = ("adam", "sgd", "adamw", "lion", "rmsprop")


def make_sweep(logdir: Path | str, runs: int = 100, metrics: int = 3, steps: int = 200,
               project: str = "sweep") -> list[str]:
    """``runs`` runs of ``metrics`` metrics x ``steps`` steps. Config: ``lr`` (drives the final
    loss), ``optimizer`` (5 values, a fixed offset each), ``batch_size``, ``seed`` (noise only).
    Metric 0 is ``train/loss``, 1 ``val/acc``, the rest ``extra/mN``."""
    import seetrain

    ids = []
    for i in range(runs):
        lr = 10 ** (-4 + 3 * (i % 10) / 9)  # 1e-4 .. 1e-1
        opt = OPTIMIZERS[i % len(OPTIMIZERS)]
        cfg = {"lr": lr, "optimizer": opt, "batch_size": 32 * (1 + i % 4), "seed": i}
        run = seetrain.init(project=project, experiment_name=f"{opt}-lr{lr:.0e}-s{i}", logdir=str(logdir),
                            config=cfg, tags=[opt, "sweep"], group=f"bs{cfg['batch_size']}",
                            reinit="create_new", system_monitor=False, capture_console=False)
        floor = 0.1 + 0.5 * abs(math.log10(lr) + 2.5) + 0.1 * OPTIMIZERS.index(opt)
        for step in range(steps):
            loss = floor + 2.0 * math.exp(-step / (steps / 5)) + 0.02 * math.sin(step * 0.7 + i)
            row = {"train/loss": loss, "val/acc": 1.0 - loss / 4}
            for m in range(2, metrics):
                row[f"extra/m{m}"] = math.cos(step / 17 + m + i) + m
            run.log(row, step=step)
        run.finish()
        ids.append(run.id)
    return ids
