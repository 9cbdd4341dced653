"""SeeTrainModelCheckpoint: real Keras checkpoint files become artifact versions."""

from __future__ import annotations

import os

os.environ["KERAS_BACKEND"] = "torch"  # must precede the first import of keras

import pytest  # noqa: E402

pytest.importorskip("torch")
keras = pytest.importorskip("keras")
np = pytest.importorskip("numpy")

import seetrain  # noqa: E402
from integrations.keras import SeeTrainCallback, SeeTrainModelCheckpoint  # noqa: E402
from tests.integrations.keras.test_keras import SEETRAIN_KW, _keras_home, data, tiny_model  # noqa: E402, F401

pytestmark = pytest.mark.integration


def test_best_only_checkpoints_are_versions_with_best_alias(logdir, tmp_path):
    x, y = data()
    callback = SeeTrainCallback(project="keras", logdir=logdir, **SEETRAIN_KW)
    ckpt = SeeTrainModelCheckpoint(str(tmp_path / "best.keras"), monitor="val_loss", save_best_only=True,
                                   callback=callback)
    model = tiny_model(lr=5e-2)
    history = model.fit(x, y, epochs=4, batch_size=8, validation_split=0.25, verbose=0, callbacks=[callback, ckpt])
    val = history.history["val_loss"]
    improvements = sum(1 for i, v in enumerate(val) if v < min(val[:i], default=float("inf")))
    run_id = callback.integration.run.id
    api = seetrain.Api(logdir)
    versions = api.artifact_versions(f"keras/model-{run_id}")
    assert len(versions) == improvements
    best = api.artifact(f"keras/model-{run_id}:best")
    assert best.number == versions[-1].number and best.metadata["value"] == pytest.approx(min(val))
    restored = keras.saving.load_model(os.path.join(best.download(tmp_path / "dl"), "best.keras"))
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_every_epoch_file_uses_the_current_run(logdir, tmp_path):
    x, y = data()
    run = seetrain.init(project="keras", logdir=str(logdir), **SEETRAIN_KW)
    ckpt = SeeTrainModelCheckpoint(str(tmp_path / "w-{epoch}.weights.h5"), save_weights_only=True,
                                   artifact_name="weights")
    tiny_model().fit(x, y, epochs=3, batch_size=8, verbose=0, callbacks=[ckpt])
    versions = seetrain.Api(logdir).artifact_versions("keras/weights")
    assert [v.files[0].path for v in versions] == ["w-1.weights.h5", "w-2.weights.h5", "w-3.weights.h5"]
    assert all(v.created_by == run.id for v in versions)


def test_without_a_run_it_only_saves(tmp_path):
    x, y = data()
    ckpt = SeeTrainModelCheckpoint(str(tmp_path / "m.keras"))
    tiny_model().fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[ckpt])
    assert (tmp_path / "m.keras").exists()
