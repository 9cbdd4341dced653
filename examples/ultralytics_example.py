"""Ultralytics YOLO + SeeTrain: a YOLOv8n built from its yaml, trained for 2 epochs on a generated
8-image data set, on the CPU (no download).

Ultralytics needs torchvision, which does not install beside the main venv's torch 2.13.0: run this
in the Ultralytics lane's venv (created by scripts/test_ultralytics.sh):

    YOLO_OFFLINE=1 .venv-ultralytics/bin/python examples/ultralytics_example.py [--logdir ./seetrain_logs]
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402
from ultralytics import YOLO  # noqa: E402

from integrations.ultralytics import add_seetrain_callback  # noqa: E402


def make_dataset(root: Path, images: int = 8, size: int = 64) -> Path:
    """One class: a bright rectangle on a dark background, with YOLO txt labels."""
    for split, seed in (("train", 0), ("val", 1)):
        rng = np.random.default_rng(seed)
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(images):
            x0, y0 = (int(v) for v in rng.integers(4, size // 2, 2))
            w, h = (int(v) for v in rng.integers(size // 5, size // 2 - 4, 2))
            img = np.full((size, size, 3), 40, np.uint8)
            img[y0:y0 + h, x0:x0 + w] = (220, 60, 60)
            Image.fromarray(img).save(root / "images" / split / f"{i}.png")
            (root / "labels" / split / f"{i}.txt").write_text(
                f"0 {(x0 + w / 2) / size:.5f} {(y0 + h / 2) / size:.5f} {w / size:.5f} {h / size:.5f}\n")
    data = root / "data.yaml"
    data.write_text(f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: box\n")
    return data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="./seetrain_logs")
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = make_dataset(Path(tmp) / "data")
        model = YOLO("yolov8n.yaml")
        callbacks = add_seetrain_callback(model, project="ultralytics-example", logdir=args.logdir)
        model.train(data=str(data), epochs=args.epochs, imgsz=64, batch=4, amp=False, workers=0, device="cpu",
                    project=str(Path(tmp) / "runs"), name="yolo", plots=True, verbose=False)
        print(f"run {callbacks.integration.run.id} in {callbacks.integration.run.dir}")


if __name__ == "__main__":
    main()
