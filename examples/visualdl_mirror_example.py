"""VisualDL mirror: an unchanged VisualDL logging script (``LogWriter`` scalars, images,
histograms, text, audio) also records into SeeTrain; the VisualDL record files are written as before.

    python examples/visualdl_mirror_example.py [--logdir ./seetrain_logs] [--vdl-logdir ./vdl_log]
"""

from __future__ import annotations

import argparse

import numpy as np
from visualdl import LogWriter

from integrations.visualdl import sync_visualdl, unsync_visualdl


def training_script(vdl_logdir: str) -> None:
    """What a VisualDL user already has: nothing SeeTrain-specific in here."""
    rng = np.random.default_rng(0)
    weights = rng.normal(size=256)
    with LogWriter(logdir=f"{vdl_logdir}/train") as writer:
        for step in range(20):
            weights = weights * 0.95 + rng.normal(scale=0.05, size=256)
            writer.add_scalar(tag="train/loss", value=float(np.exp(-step / 8) + 0.02 * rng.random()), step=step)
            writer.add_scalar(tag="train/lr", value=0.1 * 0.9 ** step, step=step)
            if step % 5 == 4:
                writer.add_histogram("weights", weights, step=step, buckets=20)
                image = (rng.random((32, 32, 3)) * 255 * (step + 1) / 20).astype("uint8")
                writer.add_image("sample", image, step=step)
        writer.add_text("note", "loss decays; see the histogram narrowing", step=19)
        tone = np.sin(np.linspace(0, 2 * np.pi * 440, 8000)).astype("float32")
        writer.add_audio("tone", tone, step=19, sample_rate=8000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--vdl-logdir", default="./vdl_log")
    args = parser.parse_args()

    sync_visualdl(project="visualdl-example", experiment_name="mirror", logdir=args.logdir)
    try:
        training_script(args.vdl_logdir)
    finally:
        unsync_visualdl()
    print(f"VisualDL files in {args.vdl_logdir}/train (visualdl --logdir {args.vdl_logdir}); "
          f"SeeTrain run in {args.logdir}")


if __name__ == "__main__":
    main()
