from __future__ import annotations

import math

import pytest

import seetrain
from seetrain.insight.attention import unwatch_attention

torch = pytest.importorskip("torch")
PIL = pytest.importorskip("PIL.Image")
pytestmark = pytest.mark.integration


def _encoder(num_layers: int = 3):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(d_model=16, nhead=4, dim_feedforward=32, batch_first=True,
                                             dropout=0.0)
    return torch.nn.Sequential(torch.nn.TransformerEncoder(layer, num_layers=num_layers,
                                                           enable_nested_tensor=False),
                               torch.nn.Linear(16, 1))


def _train(model, steps: int) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(4, 6, 16)
    for _ in range(steps):
        opt.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        opt.step()
        seetrain.log({"loss": loss.item()})


def test_full_mode_logs_heatmaps_and_stats(logdir):
    run = seetrain.init(project="att", logdir=str(logdir))
    model = _encoder()
    watcher = seetrain.watch_attention(model, every=4, layers=[0, -1], mode="full")
    assert list(watcher.layers) == [0, 2]
    _train(model, 9)
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert [s for s, _, _ in view.scalars("loss")] == list(range(9))
    for layer in (0, 2):
        entropy = view.scalars(f"attention/layer{layer}/entropy")
        assert [s for s, _, _ in entropy] == [0, 4, 8]
        # 6 keys: entropy lies between 0 and log(6) nats.
        assert all(0.0 <= v <= math.log(6) + 1e-6 for _, _, v in entropy)
        assert all(1 / 6 - 1e-6 <= v <= 1.0 for _, _, v in view.scalars(f"attention/layer{layer}/max_weight"))
        assert all(0.0 <= v <= 1.0 for _, _, v in view.scalars(f"attention/layer{layer}/sparsity"))
        assert len(view.scalars(f"attention/layer{layer}/head3/entropy")) == 3
    assert not view.scalars("attention/layer1/entropy")  # not chosen
    images = view.media("attention/layer0/head1", kind="image")
    assert [m.step for m in images] == [0, 4, 8]
    with PIL.open(images[0].path) as img:
        assert img.size[0] >= 6 and img.size[0] == img.size[1]
    assert not model._forward_pre_hooks and not model._forward_hooks


def test_light_mode_logs_stats_only(logdir):
    run = seetrain.init(project="att", logdir=str(logdir))
    model = _encoder(num_layers=2)
    seetrain.watch_attention(model, every=2, layers=None, mode="light")
    _train(model, 4)
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert [s for s, _, _ in view.scalars("attention/layer1/entropy")] == [0, 2]
    assert not view.media(kind="image")


def test_multihead_attention_caller_gets_what_it_asked_for(logdir):
    run = seetrain.init(project="att", logdir=str(logdir))
    torch.manual_seed(0)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    q = torch.randn(3, 5, 8)
    expected_avg = mha(q, q, q)[1]
    seetrain.watch_attention(mha, every=1, layers=None, mode="light")
    out, weights = mha(q, q, q)
    assert weights.shape == (3, 5, 5) and torch.allclose(weights, expected_avg, atol=1e-6)
    assert mha(q, q, q, need_weights=False)[1] is None
    assert mha(q, q, q, None, True, None, False)[1].shape == (3, 2, 5, 5)  # positional form
    run.finish()
    assert len(seetrain.Api(logdir).run(run.id).scalars("attention/layer0/head1/entropy")) == 3


def test_module_returning_weights_and_unwatch(logdir):
    class TinyAttention(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.proj = torch.nn.Linear(8, 8)

        def forward(self, x):
            scores = self.proj(x) @ x.transpose(1, 2)
            weights = scores.softmax(dim=-1)
            return weights @ x, weights  # (batch, query, key): one head

    run = seetrain.init(project="att", logdir=str(logdir))
    model = torch.nn.Sequential(torch.nn.Linear(8, 8), TinyAttention())
    seetrain.watch_attention(model, every=1, mode="light")  # found by its class name
    model(torch.randn(2, 4, 8))
    unwatch_attention(model)
    assert not model._forward_hooks and not model._forward_pre_hooks
    assert not model[1]._forward_hooks
    model(torch.randn(2, 4, 8))
    run.finish()
    entropy = seetrain.Api(logdir).run(run.id).scalars("attention/layer0/entropy")
    assert len(entropy) == 1 and 0 <= entropy[0][2] <= math.log(4) + 1e-6


def test_no_attention_layer_is_an_error(logdir):
    seetrain.init(project="att", logdir=str(logdir))
    with pytest.raises(ValueError, match="no attention layer"):
        seetrain.watch_attention(torch.nn.Linear(2, 2))
