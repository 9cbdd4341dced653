"""The Paddle callback on a real ``paddle.Model.fit`` / ``evaluate`` (a tiny MLP, synthetic data,
CPU), read back through ``seetrain.Api``. Expected values come from a recorder callback that sits
in the same ``fit`` and sees exactly what Paddle hands to callbacks."""

from __future__ import annotations

import pytest

paddle = pytest.importorskip("paddle")
np = pytest.importorskip("numpy")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.paddle import SeeTrainCallback  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


class Data(paddle.io.Dataset):
    def __init__(self, n: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.x = rng.normal(size=(n, 4)).astype("float32")
        self.y = (self.x[:, 0] + self.x[:, 1] > 0).astype("int64").reshape(-1, 1)

    def __getitem__(self, i: int):
        return self.x[i], self.y[i]

    def __len__(self) -> int:
        return len(self.x)


class Recorder(paddle.callbacks.Callback):
    """What Paddle gave the callbacks: (global step, loss, acc, lr) per batch, per epoch, per eval."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[float, float, float]] = []
        self.epochs: list[tuple[float, float]] = []
        self.evals: list[tuple[float, float]] = []

    def on_train_batch_end(self, step, logs=None):
        self.batches.append((logs["loss"][0], float(logs["acc"]), self.model._optimizer.get_lr()))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((logs["loss"][0], float(logs["acc"])))

    def on_eval_end(self, logs=None):
        self.evals.append((logs["loss"][0], float(logs["acc"])))


def _model(lr=None):
    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Linear(4, 8), paddle.nn.ReLU(), paddle.nn.Linear(8, 2))
    model = paddle.Model(net)
    lr = lr if lr is not None else paddle.optimizer.lr.StepDecay(0.1, step_size=3, gamma=0.5)
    model.prepare(paddle.optimizer.Adam(learning_rate=lr, parameters=net.parameters()),
                  paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    return model


def test_fit_records_batches_epochs_eval_lr_and_config(tmp_path):
    model = _model()
    recorder = Recorder()
    callback = SeeTrainCallback(project="pd", experiment_name="mlp", logdir=tmp_path, **QUIET)
    # recorder first: it reads the lr before the scheduler callback (added last by Paddle) steps it.
    model.fit(Data(32, 0), Data(16, 1), batch_size=8, epochs=3, verbose=0, callbacks=[recorder, callback])

    (view,) = seetrain.Api(tmp_path).runs("pd")
    assert view.status == "finished" and view.name == "mlp"
    steps = list(range(12))  # 4 batches x 3 epochs
    loss = view.scalars("batch/loss")
    assert [s for s, _, _ in loss] == steps
    assert [v for _, _, v in loss] == pytest.approx([b[0] for b in recorder.batches])
    assert [v for _, _, v in view.scalars("batch/acc")] == pytest.approx([b[1] for b in recorder.batches])
    lrs = [v for _, _, v in view.scalars("batch/lr")]
    assert lrs == pytest.approx([b[2] for b in recorder.batches])
    assert lrs[0] == pytest.approx(0.1) and lrs[-1] < lrs[0]  # the StepDecay schedule is visible

    assert [s for s, _, _ in view.scalars("train/loss")] == [3, 7, 11]
    assert [v for _, _, v in view.scalars("train/loss")] == pytest.approx([e[0] for e in recorder.epochs])
    assert [v for _, _, v in view.scalars("train/acc")] == pytest.approx([e[1] for e in recorder.epochs])
    assert [v for _, _, v in view.scalars("epoch")] == [0, 1, 2]
    assert len(view.scalars("train/lr")) == 3
    assert [s for s, _, _ in view.scalars("eval/loss")] == [3, 7, 11]
    assert [v for _, _, v in view.scalars("eval/acc")] == pytest.approx([e[1] for e in recorder.evals])

    cfg = view.config["paddle"]
    assert cfg["fit"]["epochs"] == 3 and cfg["fit"]["steps"] == 4
    assert cfg["metrics"] == ["loss", "acc"]
    assert cfg["optimizer"] == {"class": "Adam", "learning_rate": pytest.approx(0.1), "lr_scheduler": "StepDecay"}
    assert cfg["loss"] == "CrossEntropyLoss"
    assert cfg["model"] == {"class": "Sequential", "total_params": 4 * 8 + 8 + 8 * 2 + 2,
                            "trainable_params": 4 * 8 + 8 + 8 * 2 + 2}
    assert view.config["framework"]["name"] == "paddle"
    assert view.config["framework"]["version"] == paddle.__version__


def test_standalone_evaluate_continues_the_run_and_hub_binding(tmp_path):
    integration = main.init_paddle(project="pd-hub", experiment_name="hub", logdir=tmp_path, **QUIET)
    callback = integration.get_callback(log_every_n_batches=0)
    model = _model(lr=0.01)
    model.fit(Data(16, 0), batch_size=8, epochs=2, verbose=0, callbacks=[callback])
    result = model.evaluate(Data(16, 1), batch_size=8, verbose=0, callbacks=[callback])
    integration.finish()

    (view,) = seetrain.Api(tmp_path).runs("pd-hub")
    assert view.status == "finished"
    assert view.scalars("batch/loss") == []                   # batch logging off
    assert [s for s, _, _ in view.scalars("train/loss")] == [1, 3]  # steps still count batches
    (point,) = view.scalars("eval/acc")
    assert point[0] == 3 and point[2] == pytest.approx(float(result["acc"]))
    assert view.config["paddle"]["optimizer"] == {"class": "Adam", "learning_rate": pytest.approx(0.01)}


def test_a_failing_seetrain_never_stops_fit(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    model = _model()
    model.fit(Data(16, 0), batch_size=8, epochs=1, verbose=0,
              callbacks=[SeeTrainCallback(project="pd", logdir=blocker / "logs", **QUIET)])
    assert model.evaluate(Data(8, 1), batch_size=8, verbose=0)["acc"] is not None
