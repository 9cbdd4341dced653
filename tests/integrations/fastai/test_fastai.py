"""The fastai callback on a real ``Learner.fit_one_cycle`` / ``fine_tune`` (a tiny MLP, synthetic
data, CPU), read back through ``seetrain.Api``. Expected values come from a recorder callback in
the same fit and from fastai's own ``Recorder``.

fastai needs torchvision, which cannot sit beside the main venv's torch 2.13.0: these tests run
in the vision lane (``scripts/test_vision.sh``, ``make test-vision``) and skip elsewhere.
"""

from __future__ import annotations

import pytest

pytest.importorskip("fastai", reason="fastai runs in the vision lane: make test-vision")
torch = pytest.importorskip("torch")

import fastai.callback.schedule  # noqa: E402,F401  (adds fit_one_cycle / fine_tune)
from fastai.callback.core import Callback  # noqa: E402
from fastai.data.core import DataLoaders  # noqa: E402
from fastai.learner import Learner, Recorder  # noqa: E402
from fastai.metrics import accuracy  # noqa: E402
from torch.utils.data import TensorDataset  # noqa: E402

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.fastai import SeeTrainCallback  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


class Seen(Callback):
    """What fastai exposes after each training batch: raw loss, smooth loss, lr."""

    order = Recorder.order + 1

    def before_fit(self):
        self.batches = []

    def after_batch(self):
        if self.training:
            self.batches.append((float(self.learn.loss.detach()), float(self.learn.smooth_loss.detach()),
                                 float(self.learn.opt.hypers[-1]["lr"])))


def _learner(*cbs):
    torch.manual_seed(0)
    x = torch.randn(64, 4)
    y = (x[:, 0] + x[:, 1] > 0).long()
    dls = DataLoaders.from_dsets(TensorDataset(x[:48], y[:48]), TensorDataset(x[48:], y[48:]), bs=16,
                                 device="cpu")
    net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    learn = Learner(dls, net, loss_func=torch.nn.CrossEntropyLoss(), metrics=accuracy, cbs=list(cbs))
    learn.recorder.silent = True
    return learn


def test_fit_one_cycle_records_batches_epochs_hypers_and_config(tmp_path):
    seen = Seen()
    learn = _learner(seen, SeeTrainCallback(project="fa", experiment_name="mlp", logdir=tmp_path, **QUIET))
    with learn.no_bar():
        learn.fit_one_cycle(2, 1e-2)

    (view,) = seetrain.Api(tmp_path).runs("fa")
    assert view.status == "finished" and view.name == "mlp"
    loss = view.scalars("batch/loss")
    assert [s for s, _, _ in loss] == list(range(6))  # 3 batches x 2 epochs
    assert [v for _, _, v in loss] == pytest.approx([b[0] for b in seen.batches])
    assert [v for _, _, v in view.scalars("batch/smooth_loss")] == pytest.approx([b[1] for b in seen.batches])
    lrs = [v for _, _, v in view.scalars("hp/lr")]
    assert lrs == pytest.approx([b[2] for b in seen.batches])
    assert max(lrs) > lrs[0] and lrs[-1] < max(lrs)  # the one-cycle schedule is visible
    assert len(view.scalars("hp/mom")) == 6

    values = learn.recorder.values  # [train_loss, valid_loss, accuracy] per epoch
    assert [s for s, _, _ in view.scalars("train/loss")] == [2, 5]
    assert [v for _, _, v in view.scalars("train/loss")] == pytest.approx([v[0] for v in values])
    assert [v for _, _, v in view.scalars("valid/loss")] == pytest.approx([v[1] for v in values])
    assert [v for _, _, v in view.scalars("valid/accuracy")] == pytest.approx([v[2] for v in values])
    assert [v for _, _, v in view.scalars("epoch")] == [0, 1]

    cfg = view.config["fastai"]
    assert cfg["n_epoch"] == 2 and cfg["batch_size"] == 16 and cfg["metrics"] == ["accuracy"]
    assert cfg["opt_func"] == "Adam" and cfg["loss_func"] == "CrossEntropyLoss"
    assert cfg["model"] == {"class": "Sequential", "total_params": 58, "trainable_params": 58}
    assert view.config["framework"]["name"] == "fastai"


def test_second_fit_continues_the_run_and_lr_find_is_not_recorded(tmp_path):
    callback = SeeTrainCallback(project="fa", logdir=tmp_path, log_every_n_batches=0, **QUIET)
    learn = _learner(callback)
    with learn.no_bar():
        learn.lr_find(num_it=5, show_plot=False)
        learn.fit(1, 1e-2)
        learn.fit(1, 1e-2)
    (view,) = seetrain.Api(tmp_path).runs("fa")
    assert view.status == "finished"
    assert view.scalars("batch/loss") == []
    assert [s for s, _, _ in view.scalars("train/loss")] == [2, 5]  # the second fit goes on after the first


def test_hub_binding_and_a_failing_seetrain_never_stop_fit(tmp_path):
    integration = main.init_fastai(project="fa-hub", logdir=tmp_path / "ok", **QUIET)
    learn = _learner(integration.get_callback())
    with learn.no_bar():
        learn.fit(1, 1e-2)
    integration.finish()
    (view,) = seetrain.Api(tmp_path / "ok").runs("fa-hub")
    assert view.status == "finished" and len(view.scalars("valid/accuracy")) == 1

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    learn = _learner(SeeTrainCallback(project="fa", logdir=blocker / "logs", **QUIET))
    with learn.no_bar():
        learn.fit(1, 1e-2)
    assert len(learn.recorder.values) == 1
