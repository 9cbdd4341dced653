"""SeeTrainCallback driven by a real Keras 3 ``model.fit`` (torch backend) on the CPU."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the first import of keras

import pytest  # noqa: E402

pytest.importorskip("torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.keras import KerasIntegration, SeeTrainCallback  # noqa: E402

pytestmark = pytest.mark.integration
SEETRAIN_KW = {"system_monitor": False, "capture_console": False}


@pytest.fixture(autouse=True)
def _keras_home(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras-home"))
    keras.utils.set_random_seed(0)
    yield
    keras.backend.clear_session()


def tiny_model(lr=1e-2):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu", name="hidden"),
                              keras.layers.Dense(1, name="out")], name="tiny")
    model.compile(optimizer=keras.optimizers.Adam(lr), loss="mse", metrics=["mae"])
    return model


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 4), dtype=np.float32)
    return x, x.sum(axis=1, keepdims=True)


class Recorder(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches, self.epochs = [], []

    def on_train_batch_end(self, batch, logs=None):
        self.batches.append(dict(logs))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append((epoch, dict(logs)))


def test_fit_logs_batches_epochs_lr_summary_optimizer(logdir):
    x, y = data()
    recorder = Recorder()
    callback = SeeTrainCallback(project="keras", experiment_name="fit", config={"data": "synthetic"},
                                logdir=logdir, **SEETRAIN_KW)
    model = tiny_model()
    history = model.fit(x, y, epochs=2, batch_size=8, validation_split=0.25, verbose=0,
                        callbacks=[callback, recorder])

    (view,) = seetrain.Api(logdir).runs("keras")
    assert view.status == "finished" and view.name == "fit"
    # 24 training samples / batch 8 = 3 batches per epoch; one step axis over both epochs.
    batch_loss = view.scalars("batch/loss")
    assert [s for s, _, _ in batch_loss] == list(range(6))
    assert [v for _, _, v in batch_loss] == pytest.approx([b["loss"] for b in recorder.batches])
    assert [(s, v) for s, _, v in view.scalars("epoch")] == [(2, 0.0), (5, 1.0)]
    assert [v for _, _, v in view.scalars("train/loss")] == pytest.approx(history.history["loss"])
    assert [v for _, _, v in view.scalars("val/loss")] == pytest.approx(history.history["val_loss"])
    assert [v for _, _, v in view.scalars("val/mae")] == pytest.approx(history.history["val_mae"])
    assert [v for _, _, v in view.scalars("train/learning_rate")] == pytest.approx([1e-2, 1e-2])

    cfg = view.config
    assert cfg["framework"]["name"] == "keras" and cfg["framework"]["version"] == keras.__version__
    assert cfg["data"] == "synthetic" and cfg["fit"]["epochs"] == 2 and cfg["loss"] == "mse"
    assert cfg["optimizer"]["class"] == "Adam" and cfg["optimizer"]["learning_rate"] == pytest.approx(1e-2)

    (summary,) = view.media("model_summary", kind="model_summary")
    rows = summary.payload["rows"]
    assert [(r["name"], r["type"], r["params"]) for r in rows] == [("hidden", "Dense", 40), ("out", "Dense", 9)]
    assert rows[0]["output_shape"] == [None, 8] and rows[1]["input_shape"] == [None, 8]
    assert summary.payload["total_params"] == 49 == view.metadata["model"]["total_params"]
    (text,) = view.media("model/summary", kind="text")
    assert "hidden" in text.payload.get("text", "") or os.path.isfile(text.path or "")
    assert callback.integration.get_stats()["degraded_calls"] == 0


def test_batch_logging_interval_and_evaluate(logdir):
    x, y = data()
    callback = SeeTrainCallback(project="keras", logdir=logdir, log_every_n_batches=2, log_model_summary=False,
                                **SEETRAIN_KW)
    model = tiny_model()
    model.fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    result = model.evaluate(x, y, verbose=0, return_dict=True, callbacks=[callback])
    callback.integration.finish()
    (view,) = seetrain.Api(logdir).runs("keras")  # evaluate continued the same run
    assert view.status == "finished"
    assert [s for s, _, _ in view.scalars("batch/loss")] == [0, 2, 4, 6]  # 4 batches per epoch
    assert [s for s, _, _ in view.scalars("train/loss")] == [3, 7]
    assert view.scalars("eval/loss")[0][0] == 7
    assert view.scalars("eval/loss")[0][2] == pytest.approx(result["loss"])
    assert view.media("model_summary") == []


def test_learning_rate_schedule_is_logged_per_batch(logdir):
    x, y = data()
    schedule = keras.optimizers.schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.5)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    model.fit(x, y, epochs=1, batch_size=8, verbose=0,
              callbacks=[SeeTrainCallback(project="keras", logdir=logdir, **SEETRAIN_KW)])
    (view,) = seetrain.Api(logdir).runs("keras")
    lrs = [v for _, _, v in view.scalars("batch/learning_rate")]
    assert lrs == pytest.approx([0.05, 0.025, 0.0125, 0.00625])  # read after each optimizer step


def test_hub_integration(logdir):
    integration = main.init_keras(project="keras-hub", logdir=str(logdir), **SEETRAIN_KW)
    assert isinstance(integration, KerasIntegration)
    x, y = data()
    tiny_model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[integration.get_callback()])
    main.log({"after": 1.0})
    assert integration.get_stats()["records_sent"] >= 5
    integration.finish()
    integration.finish()
    (view,) = seetrain.Api(logdir).runs("keras-hub")
    assert view.status == "finished" and view.scalars("after")[0][0] == 4


def test_seetrain_failure_does_not_break_training(logdir, monkeypatch):
    def broken_log(self, *args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(seetrain.Run, "log", broken_log)
    x, y = data()
    callback = SeeTrainCallback(project="keras", logdir=logdir, **SEETRAIN_KW)
    history = tiny_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    assert len(history.history["loss"]) == 2
    assert callback.integration.get_stats()["degraded_calls"] >= 8


def test_non_zero_rank_writes_nothing(logdir, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    x, y = data()
    tiny_model().fit(x, y, epochs=1, batch_size=8, verbose=0,
                     callbacks=[SeeTrainCallback(project="keras", logdir=logdir, **SEETRAIN_KW)])
    assert seetrain.Api(logdir).runs() == []


def test_batch_logging_off_keeps_epoch_steps(logdir):
    x, y = data()
    callback = SeeTrainCallback(project="keras", logdir=logdir, log_every_n_batches=0, **SEETRAIN_KW)
    assert keras.src.utils.python_utils.is_default(callback.on_train_batch_end)  # Keras sees no batch hook
    tiny_model().fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[callback])
    (view,) = seetrain.Api(logdir).runs("keras")
    assert view.scalars("batch/loss") == []
    assert [s for s, _, _ in view.scalars("train/loss")] == [3, 7]
