"""Per-call overhead of the Paddle, VisualDL, fastai and timm adapters against one tiny training
step of their framework (issue 14's budget: at most 5 % of a step). Same method as
``benchmarks/adapter_overhead.py``: medians, the hook timed directly (the difference of two
end-to-end timings on a shared 2-core machine is mostly noise).

    .venv/bin/python -m benchmarks.lane_adapter_overhead            # paddle, visualdl (main venv)
    .venv-vision/bin/python -m benchmarks.lane_adapter_overhead     # fastai, timm (vision lane)

- paddle: step = one ``model.train_batch`` of a 4-8-2 MLP (batch 32, Adam); hook =
  ``SeeTrainCallback.on_train_batch_end`` with the logs Paddle hands it, into a real local run.
- visualdl: step = one ``train_batch`` as above plus one unmirrored ``LogWriter.add_scalar``;
  hook = the extra time of a mirrored ``add_scalar`` over an unmirrored one.
- fastai: step = one batch of ``Learner.fit`` on the same MLP; hook = ``after_batch``.
- timm: step = one epoch of the test loop (timm's ``update_summary`` is called once per epoch);
  hook = the extra time of a mirrored ``update_summary``.
"""

from __future__ import annotations

import os
import time
from typing import Any

os.environ.setdefault("SEETRAIN_SYSTEM_MONITOR", "0")
os.environ.setdefault("SEETRAIN_CAPTURE_CONSOLE", "0")

from benchmarks.adapter_overhead import _median_us, run_benches  # noqa: E402
from integrations import main as hub  # noqa: E402


def _paddle_model() -> tuple[Any, Any, Any]:
    import numpy as np
    import paddle

    paddle.seed(0)
    net = paddle.nn.Sequential(paddle.nn.Linear(4, 8), paddle.nn.ReLU(), paddle.nn.Linear(8, 2))
    model = paddle.Model(net)
    model.prepare(paddle.optimizer.Adam(learning_rate=0.01, parameters=net.parameters()),
                  paddle.nn.CrossEntropyLoss(), paddle.metric.Accuracy())
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("int64")
    return model, x, y


def bench_paddle(logdir: str) -> dict[str, float]:
    from integrations.paddle import SeeTrainCallback

    model, x, y = _paddle_model()
    step = _median_us(lambda: model.train_batch([x], [y]), 300)
    callback = SeeTrainCallback(project="bench", logdir=logdir)
    callback.set_model(model)
    callback.set_params({"epochs": 1, "steps": 10**9, "batch_size": 32, "verbose": 0, "metrics": ["loss", "acc"]})
    callback.on_train_begin()
    logs = {"loss": [0.69], "acc": 0.5, "step": 0, "batch_size": 32}
    call = _median_us(lambda: callback.on_train_batch_end(0, logs), 2000)
    callback.on_train_end()
    return {"step_us": step, "call_us": call}


def bench_visualdl(logdir: str) -> dict[str, float]:
    from visualdl import LogWriter

    from integrations.visualdl import sync_visualdl, unsync_visualdl

    model, x, y = _paddle_model()
    counter = iter(range(10**9))
    with LogWriter(logdir=os.path.join(logdir, "vdl")) as writer:
        step = _median_us(lambda: model.train_batch([x], [y]), 300)
        plain = _median_us(lambda: writer.add_scalar("loss", 0.5, next(counter)), 2000)
        sync_visualdl(project="bench", logdir=logdir)
        mirrored = _median_us(lambda: writer.add_scalar("loss", 0.5, next(counter)), 2000)
        unsync_visualdl()
    return {"step_us": step + plain, "call_us": max(mirrored - plain, 0.0)}


def bench_fastai(logdir: str) -> dict[str, float]:
    import fastai.callback.schedule  # noqa: F401  (Learner.no_bar comes with the progress callbacks)
    import torch
    from fastai.data.core import DataLoaders
    from fastai.learner import Learner

    from integrations.fastai import SeeTrainCallback

    torch.manual_seed(0)
    x = torch.randn(32 * 50, 4)
    y = (x[:, 0] > 0).long()
    ds = torch.utils.data.TensorDataset(x, y)
    dls = DataLoaders.from_dsets(ds, ds, bs=32, device="cpu")

    def learner(cbs: list) -> Any:
        net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        learn = Learner(dls, net, loss_func=torch.nn.CrossEntropyLoss(), cbs=cbs)
        learn.recorder.silent = True
        return learn

    learn = learner([])
    with learn.no_bar():
        t0 = time.perf_counter()
        learn.fit(1, 1e-2)
    step = (time.perf_counter() - t0) / (2 * 50) * 1e6  # 50 train + 50 valid batches per epoch
    bound = hub.init_fastai(project="bench", logdir=logdir)
    callback = SeeTrainCallback(integration=bound)
    learn = learner([callback])
    with learn.no_bar():
        learn.fit(1, 1e-2)  # sets learn.loss, smooth_loss, opt hypers as after a real batch
    learn.training = True
    call = _median_us(callback.after_batch, 2000)
    bound.finish()
    return {"step_us": step, "call_us": call}


def bench_timm(logdir: str) -> dict[str, float]:
    import timm
    import timm.utils
    import torch

    from integrations.timm import sync_timm, unsync_timm

    model = timm.create_model("test_resnet", num_classes=2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 2, (8,))

    def batch() -> None:
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    step = _median_us(batch, 50) * 4  # the test loop's epoch: 4 batches
    csv_path = os.path.join(logdir, "summary.csv")
    epochs = iter(range(10**9))

    def summary() -> None:
        timm.utils.update_summary(next(epochs), {"loss": 0.5}, {"loss": 0.4, "top1": 50.0}, csv_path, lr=0.01)

    plain = _median_us(summary, 500)
    sync_timm(project="bench", logdir=logdir)
    mirrored = _median_us(summary, 500)
    unsync_timm()
    return {"step_us": step + plain, "call_us": max(mirrored - plain, 0.0)}


BENCHES = {"paddle": bench_paddle, "visualdl": bench_visualdl, "fastai": bench_fastai, "timm": bench_timm}


def main() -> None:
    run_benches(__doc__ or "", BENCHES, lambda name, n: (
        f"{name:10s} step {n['step_us']:10.1f} us   hook {n['call_us']:7.1f} us   ratio {100 * n['ratio']:5.2f} %"))


if __name__ == "__main__":
    main()
