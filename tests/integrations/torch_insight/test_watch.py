from __future__ import annotations

import math

import pytest

import seetrain

torch = pytest.importorskip("torch")
pytestmark = pytest.mark.integration


def _model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.ReLU(), torch.nn.Linear(16, 1))


def _train(model, steps: int, log_loss: bool = True) -> None:
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    x = torch.randn(32, 4)
    y = x.sum(dim=1, keepdim=True)
    for _ in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
        if log_loss:
            seetrain.log({"loss": loss.item()})


def test_gradients_parameters_and_summary(logdir):
    run = seetrain.init(project="w", logdir=str(logdir))
    model = _model()
    seetrain.watch(model, log="all", log_freq=5)
    _train(model, 12)
    with torch.no_grad():  # evaluation passes are not training steps
        model(torch.randn(3, 4))
    run.finish()
    view = seetrain.Api(logdir).run(run.id)

    assert [s for s, _, _ in view.scalars("loss")] == list(range(12))  # user steps untouched
    total = view.scalars("gradients/norm/total")
    assert [s for s, _, _ in total] == [0, 5, 10]  # same step as that iteration's loss
    per_layer = {k for k in view.keys() if k.startswith("gradients/norm/") and k != "gradients/norm/total"}
    assert per_layer == {"gradients/norm/0.weight", "gradients/norm/0.bias",
                         "gradients/norm/2.weight", "gradients/norm/2.bias"}
    layers = [view.scalars(k)[0][2] for k in sorted(per_layer)]
    assert total[0][2] == pytest.approx(math.sqrt(sum(v * v for v in layers)), rel=1e-5)
    params = view.scalars("parameters/norm/total")
    assert [s for s, _, _ in params] == [0, 5, 10] and all(v > 0 for _, _, v in params)
    # The logged parameter norm is the model's norm at the sampled step; the last one is close
    # to the final weights' norm (two SGD steps later).
    final_norm = math.sqrt(sum(float(p.detach().pow(2).sum()) for p in model.parameters()))
    assert params[-1][2] == pytest.approx(final_norm, rel=0.2)

    hists = view.media("gradients/hist/0.weight", kind="histogram")
    assert [h.step for h in hists] == [0, 5, 10]
    counts, edges = hists[0].payload["counts"], hists[0].payload["edges"]
    assert sum(counts) == 64 and len(edges) == len(counts) + 1  # 16 x 4 weights
    assert view.media("parameters/hist/2.bias", kind="histogram")

    summaries = view.media(kind="model_summary")
    assert len(summaries) == 1
    payload = summaries[0].payload
    assert payload["total_params"] == 4 * 16 + 16 + 16 + 1 == payload["trainable_params"]
    rows = {r["name"]: r for r in payload["rows"]}
    assert rows["0"] == {"name": "0", "type": "Linear", "params": 80, "input_shape": [32, 4],
                         "output_shape": [32, 16]}
    assert rows["1"]["type"] == "ReLU" and rows["1"]["params"] == 0
    assert rows["2"]["output_shape"] == [32, 1]
    assert not model._forward_pre_hooks and not model._forward_hooks  # removed at finish


def test_unwatch_removes_every_hook(logdir):
    run = seetrain.init(project="w", logdir=str(logdir))
    model = _model()
    seetrain.watch(model, log="gradients", log_freq=1)
    _train(model, 2)
    seetrain.unwatch(model)
    assert not model._forward_pre_hooks and not model._forward_hooks
    assert all(not p._post_accumulate_grad_hooks for p in model.parameters())
    _train(model, 3)
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert [s for s, _, _ in view.scalars("gradients/norm/total")] == [0, 1]
    assert not view.media(kind="histogram", key="parameters/hist/0.weight")


def test_summary_only_and_frozen_layers(logdir):
    run = seetrain.init(project="w", logdir=str(logdir))
    model = _model()
    for p in model[0].parameters():
        p.requires_grad_(False)
    seetrain.watch(model, log=None)
    _train(model, 3, log_loss=False)
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    payload = view.media(kind="model_summary")[0].payload
    assert payload["trainable_params"] == 17 and payload["total_params"] == 97
    assert not [k for k in view.keys() if k.startswith(("gradients/", "parameters/"))]


def test_watch_needs_a_run():
    with pytest.raises(seetrain.NotInitializedError):
        seetrain.watch(_model())
