"""``seetrain.autolog()`` with Paddle, in a fresh interpreter: switched on before Paddle is
imported, an unchanged ``paddle.Model.fit`` logs into the current run, ``disable=True`` puts the
original ``fit`` back."""

from __future__ import annotations

import pytest

from tests.integrations.test_autolog import _needs, _run

pytestmark = pytest.mark.integration


def test_paddle_model_fit(tmp_path):
    _needs("paddle")
    out = _run("paddle", "paddle", """
import numpy as np
import paddle
x = np.random.default_rng(0).normal(size=(16, 4)).astype("float32")
data = paddle.io.TensorDataset([paddle.to_tensor(x), paddle.to_tensor((x[:, :1] > 0).astype("int64"))])
net = paddle.nn.Sequential(paddle.nn.Linear(4, 2))
model = paddle.Model(net)
model.prepare(paddle.optimizer.SGD(learning_rate=0.1, parameters=net.parameters()), paddle.nn.CrossEntropyLoss(),
              paddle.metric.Accuracy())
run = seetrain.init(project="auto", logdir="logs")
model.fit(data, batch_size=8, epochs=2, verbose=0)
model.fit(data, batch_size=8, epochs=1, verbose=0)   # a second fit goes on in the same run
assert not run.finished, "the user's run must stay open"
import paddle.hapi.model
TARGETS = [(paddle.hapi.model.Model, "fit")]
""", tmp_path)
    assert out["restored"] and out["status"] == "finished"
    assert {"batch/loss", "batch/acc", "batch/lr", "train/loss", "epoch"} <= set(out["keys"])
    assert out["config"]["paddle"]["fit"]["epochs"] in (1, 2)
