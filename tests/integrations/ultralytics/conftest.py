"""Ultralytics reads its settings folder at import time: point it at a temp folder first."""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("YOLO_OFFLINE", "1")
os.environ.setdefault("YOLO_CONFIG_DIR", os.path.join(tempfile.gettempdir(), "seetrain-tests-yolo-config"))
os.environ.setdefault("MPLBACKEND", "Agg")
