"""seetrain.log_graph on real torch models: fx with shapes, torch.export when fx cannot trace,
the module tree when neither can, and a no-op without a run."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

import seetrain  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}


class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU())
        self.head = torch.nn.Linear(8, 2)
        self.dropout = torch.nn.Dropout(0.5)

    def forward(self, x):
        return torch.softmax(self.head(self.dropout(self.encoder(x))) + 1, dim=-1)


class ShapeBranch(torch.nn.Module):
    """fx cannot trace a branch on a shape; torch.export specialises it."""

    def __init__(self):
        super().__init__()
        self.a, self.b = torch.nn.Linear(4, 4), torch.nn.Linear(4, 4)

    def forward(self, x):
        return self.a(x) if x.shape[0] > 2 else self.b(x)


class ValueBranch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(4, 4)

    def forward(self, x):
        return self.a(x) if x.sum() > 0 else -self.a(x)


def test_fx_graph_with_shapes_and_params(logdir):
    run = seetrain.init(project="graph", logdir=str(logdir), **QUIET)
    model = Net().train()
    payload = seetrain.log_graph(model, torch.randn(3, 4))
    assert model.training  # put back as it was
    run.finish()
    (view,) = seetrain.Api(logdir).runs("graph")
    (record,) = view.media(kind="graph")
    assert record.key == "graph" and record.payload == json.loads(json.dumps(payload))
    assert payload["method"] == "torch.fx" and payload["model"] == "Net"
    assert payload["total_params"] == payload["trainable_params"] == 4 * 8 + 8 + 8 * 2 + 2
    assert payload["inputs"] == [{"shape": [3, 4], "dtype": "float32"}]
    nodes = {n["name"]: n for n in payload["nodes"]}
    assert nodes["encoder_0"]["type"] == "Linear" and nodes["encoder_0"]["params"] == 40
    assert nodes["encoder_0"]["module"] == "encoder.0" and nodes["head"]["output"]["shape"] == [3, 2]
    assert nodes["softmax"]["op"] == "call_function" and nodes["softmax"]["output"]["shape"] == [3, 2]
    assert ["x", "encoder_0"] in payload["edges"] and ["softmax", "output"] in payload["edges"]
    assert payload["op_counts"] == {"Linear": 2, "ReLU": 1, "Dropout": 1, "add": 1, "softmax": 1}
    tree = payload["modules"]
    assert [c["path"] for c in tree["children"]] == ["encoder", "head", "dropout"]
    assert tree["children"][0]["children"][0] == {"path": "encoder.0", "type": "Linear", "params": 40,
                                                  "own_params": 40, "children": []}


def test_export_fallback_and_module_tree_fallback(logdir):
    seetrain.init(project="graph2", logdir=str(logdir), **QUIET)
    exported = seetrain.log_graph(ShapeBranch(), torch.randn(3, 4), key="branch")
    assert exported["method"] == "torch.export" and exported["errors"][0].startswith("fx:")
    linear = [n for n in exported["nodes"] if n["type"] == "linear"]
    assert len(linear) == 1 and linear[0]["module"] == "a" and linear[0]["output"]["shape"] == [3, 4]
    assert linear[0]["target"] == "aten.linear.default"
    params = {n["target"]: n["params"] for n in exported["nodes"] if n["type"] == "parameter"}
    assert params == {"a.weight": 16, "a.bias": 4, "b.weight": 16, "b.bias": 4}
    untraceable = seetrain.log_graph(ValueBranch(), torch.randn(3, 4), key="value")
    assert untraceable["method"] == "modules" and untraceable["nodes"] == [] and len(untraceable["errors"]) == 2
    assert untraceable["modules"]["children"][0]["type"] == "Linear"
    seetrain.finish()
    (view,) = seetrain.Api(logdir).runs("graph2")
    assert [m.key for m in view.media(kind="graph")] == ["branch", "value"]


def test_no_run_no_trace():
    assert seetrain.log_graph(Net(), torch.randn(2, 4)) is None
