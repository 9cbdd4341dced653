"""``seetrain.autolog()`` with fastai, in a fresh interpreter (vision lane): switched on before
fastai is imported, an unchanged ``fit_one_cycle`` / ``fine_tune`` logs into the current run,
``disable=True`` puts the original ``Learner.fit`` back."""

from __future__ import annotations

import pytest

pytest.importorskip("fastai", reason="fastai runs in the vision lane: make test-vision")

from tests.integrations.test_autolog import _run  # noqa: E402

pytestmark = pytest.mark.integration


def test_fastai_learner_fit(tmp_path):
    out = _run("fastai", "fastai", """
import torch
from fastai.data.core import DataLoaders
from fastai.learner import Learner
from fastai.metrics import accuracy
import fastai.callback.schedule
from torch.utils.data import TensorDataset
torch.manual_seed(0)
x = torch.randn(64, 4)
y = (x[:, 0] > 0).long()
dls = DataLoaders.from_dsets(TensorDataset(x[:48], y[:48]), TensorDataset(x[48:], y[48:]), bs=16, device="cpu")
learn = Learner(dls, torch.nn.Sequential(torch.nn.Linear(4, 2)), loss_func=torch.nn.CrossEntropyLoss(),
                metrics=accuracy)
run = seetrain.init(project="auto", logdir="logs")
with learn.no_bar():
    learn.fit_one_cycle(2, 1e-2)
    learn.fit(1, 1e-3)
assert not run.finished, "the user's run must stay open"
TARGETS = [(Learner, "fit")]
""", tmp_path)
    assert out["restored"] and out["status"] == "finished"
    assert {"batch/loss", "hp/lr", "train/loss", "valid/loss", "valid/accuracy", "epoch"} <= set(out["keys"])
    assert out["config"]["fastai"]["metrics"] == ["accuracy"]
