"""Keras picks its backend at first import: torch, before any test module imports keras."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"
