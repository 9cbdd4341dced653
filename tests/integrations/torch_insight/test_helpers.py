from __future__ import annotations

import asyncio

import pytest

import seetrain
from seetrain.autologging import undo_autolog_torch

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.integration


def _data():
    torch.manual_seed(0)
    x = torch.randn(32, 3)
    return x, x.sum(dim=1, keepdim=True)


def test_monitor_decorator_success(logdir):
    @seetrain.monitor(project="dec", logdir=str(logdir))
    def train(lr: float, epochs: int = 3, model=None):
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=lr)
        x, y = _data()
        for _ in range(epochs):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            seetrain.log({"loss": loss.item()})
        return "done"

    assert train(0.1) == "done"
    assert train.__name__ == "train"
    (view,) = seetrain.Api(logdir).runs("dec")
    assert view.status == "finished" and view.name == "train"
    assert view.config["args"] == {"lr": 0.1, "epochs": 3, "model": None}
    assert len(view.scalars("loss")) == 3


def test_monitor_decorator_failure_reraises_and_stores_traceback(logdir):
    @seetrain.monitor(project="dec", logdir=str(logdir), experiment_name="broken")
    def train():
        seetrain.log({"loss": 1.0})
        raise RuntimeError("diverged")

    with pytest.raises(RuntimeError, match="diverged"):
        train()
    (view,) = seetrain.Api(logdir).runs("dec")
    assert view.status == "failed" and view.name == "broken"
    assert "RuntimeError: diverged" in view.error and "in train" in view.error
    assert view.scalars("loss")[0][2] == 1.0


def test_monitor_async_function(logdir):
    @seetrain.monitor(project="dec", logdir=str(logdir))
    async def evaluate(n: int):
        seetrain.log({"n": float(n)})
        return n * 2

    assert asyncio.run(evaluate(4)) == 8
    (view,) = seetrain.Api(logdir).runs("dec")
    assert view.status == "finished" and view.summary["n"]["last"] == 4.0


def test_autolog_torch_records_loss_and_step_and_undoes(logdir):
    original_backward = torch.Tensor.backward
    run = seetrain.init(project="auto", logdir=str(logdir))
    handle = seetrain.autolog_torch()
    assert seetrain.autolog_torch() is handle  # guarded: patched once
    try:
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.SGD(model.parameters(), lr=0.05)
        x, y = _data()
        losses = []
        for _ in range(6):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        # Gradient accumulation: two backward calls, one step: their mean is logged.
        opt.zero_grad()
        a = torch.nn.functional.mse_loss(model(x[:16]), y[:16])
        b = torch.nn.functional.mse_loss(model(x[16:]), y[16:])
        a.backward()
        b.backward()
        opt.step()
        losses.append((a.item() + b.item()) / 2)
    finally:
        handle.undo()
    assert torch.Tensor.backward is original_backward
    # After undo nothing is recorded any more.
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    opt.step()
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    logged = view.scalars("loss")
    assert [s for s, _, _ in logged] == list(range(7))
    assert [v for _, _, v in logged] == pytest.approx(losses, rel=1e-6)
    assert [v for _, _, v in view.scalars("lr")] == [0.05] * 7


def test_autolog_torch_starts_a_run_when_there_is_none(logdir):
    handle = seetrain.autolog_torch(project="auto2", logdir=str(logdir))
    assert handle.enabled
    try:
        model = torch.nn.Linear(3, 1)
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        other = torch.optim.SGD(torch.nn.Linear(1, 1).parameters(), lr=0.1)
        x, y = _data()
        for _ in range(3):
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
        run = seetrain.get_run()
        assert run is not None and run.project == "auto2"
    finally:
        undo_autolog_torch()
    other.step()  # not followed after undo
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert len(view.scalars("loss")) == 3 and view.summary["lr"]["last"] == 0.01


def test_hub_torch_integration_logs_and_restores(logdir):
    import torch

    from integrations import main

    original = torch.Tensor.__dict__["backward"]
    integration = main.init("torch", project="hub-torch", logdir=str(logdir), system_monitor=False,
                            capture_console=False)
    assert torch.Tensor.__dict__["backward"] is not original
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    for _ in range(3):
        loss = model(torch.ones(2, 3)).pow(2).mean()
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    integration.disable()
    assert torch.Tensor.__dict__["backward"] is original
    (view,) = seetrain.Api(logdir).runs("hub-torch")
    assert [(s, round(v, 6)) for s, _, v in view.scalars("loss")] == [(i, round(v, 6)) for i, v in enumerate(losses)]
    assert [v for _, _, v in view.scalars("lr")] == [0.1, 0.1, 0.1] and view.status == "finished"
