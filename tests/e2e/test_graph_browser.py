"""The run page's Graph tab in a real chromium against a real uvicorn, over a real traced torch model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import seetrain
from tests.e2e.conftest import screenshot
from tests.sdk_env import local_sdk_env
from tests.servers import LiveServer

pytestmark = pytest.mark.e2e


def tiny_model() -> Any:
    """An embedding, two residual blocks in a Sequential, a head and a softmax: nested modules,
    call_function nodes inside a module (the residual add) and at top level (softmax)."""
    torch = pytest.importorskip("torch")

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(8, 16)
            self.act = torch.nn.GELU()
            self.fc2 = torch.nn.Linear(16, 8)

        def forward(self, x: Any) -> Any:
            return x + self.fc2(self.act(self.fc1(x)))

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = torch.nn.Linear(4, 8)
            self.encoder = torch.nn.Sequential(Block(), Block())
            self.head = torch.nn.Linear(8, 3)

        def forward(self, x: Any) -> Any:
            return torch.softmax(self.head(self.encoder(self.embed(x))), -1)

    torch.manual_seed(0)
    return Net(), torch.randn(2, 4)


def other_models() -> dict[str, tuple[Any, Any]]:
    """A model fx and export cannot trace (control flow on a tensor's value) and a deep one
    (60 residual blocks, 242 nodes)."""
    torch = pytest.importorskip("torch")

    class Gate(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = torch.nn.Linear(4, 4)
            self.b = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())

        def forward(self, x: Any) -> Any:
            return self.b(self.a(x)) if x.sum() > 0 else self.a(x)

    class Block(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.act, self.fc2 = torch.nn.Linear(4, 4), torch.nn.ReLU(), torch.nn.Linear(4, 4)

        def forward(self, x: Any) -> Any:
            return x + self.fc2(self.act(self.fc1(x)))

    return {"gate": (Gate(), torch.randn(2, 4)), "deep": (torch.nn.Sequential(*[Block() for _ in range(60)]),
                                                          torch.randn(2, 4))}


@pytest.fixture(scope="module")
def graph_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    logdir = tmp_path_factory.mktemp("graph-dash") / "logs"
    model, example = tiny_model()
    with local_sdk_env():
        run = seetrain.init(project="graphs", experiment_name="residual-mlp", logdir=str(logdir), reinit="create_new")
        payload = seetrain.log_graph(model, example)
        run.log({"loss": 0.5}, step=0)
        run.finish()
        others = {}
        for name, (other, x) in other_models().items():
            with seetrain.init(project="graphs", experiment_name=name, logdir=str(logdir), reinit="create_new") as r:
                others[name] = {"run": r.id, "payload": seetrain.log_graph(other, x)}
    assert payload is not None and payload["method"] == "torch.fx"
    return {"logdir": logdir, "run": run.id, "payload": payload, **others}


@pytest.fixture(scope="module")
def graph_server(graph_store: dict[str, Any]) -> Iterator[LiveServer]:
    from seetrain.server.app import create_app
    from seetrain.server.local_source import LocalSource

    live = LiveServer(create_app(LocalSource(graph_store["logdir"]))).start()
    yield live
    live.stop()


def zoom(page: Any) -> float:
    return float(page.locator("svg.graph-svg").get_attribute("data-zoom"))


def test_graph_tab_draws_collapses_searches_and_zooms(page: Any, graph_server: Any, graph_store: dict,
                                                      tmp_path: Path) -> None:
    payload = graph_store["payload"]
    nodes, edges = payload["nodes"], payload["edges"]
    page.goto(f"{graph_server.url}/#/run/graphs/{graph_store['run']}")
    page.click(".tab[data-tab=graph]")
    svg = page.locator("svg.graph-svg")
    svg.wait_for()

    # Every node is drawn with its type and output shape; parameters on the modules that have them.
    boxes = page.locator(".graph-node[data-name]")
    assert boxes.count() == len(nodes) == int(svg.get_attribute("data-nodes"))
    assert page.locator("path.graph-edge").count() == len(edges) == int(svg.get_attribute("data-edges"))
    fc1 = page.locator(".graph-node[data-name=encoder_0_fc1]")
    assert fc1.locator(".graph-node-type").text_content() == "Linear"
    assert fc1.locator(".graph-node-shape").text_content() == "2×16"
    assert fc1.locator(".graph-node-params").text_content() == "144"  # 8*16 + 16
    softmax = page.locator(".graph-node[data-name=softmax]")
    assert softmax.locator(".graph-node-type").text_content() == "softmax"
    assert softmax.locator(".graph-node-shape").text_content() == "2×3"
    assert page.locator("path.graph-edge[data-from=embed][data-to=add]").count() == 1  # the residual
    # Data flows downwards: each edge's target is drawn below its source.
    ys = {n["name"]: page.locator(f".graph-node[data-name={n['name']}]").bounding_box()["y"] for n in nodes}
    assert all(ys[b] > ys[a] for a, b in edges)
    assert {g: page.locator(f".graph-group[data-group='{g}']").count() for g in ("encoder", "encoder.0", "encoder.1")} \
        == {"encoder": 1, "encoder.0": 1, "encoder.1": 1}

    # Collapse encoder.0 into one box: its 4 nodes become 1, edges in and out are rerouted to it.
    page.click(".graph-group[data-group='encoder.0'] .graph-group-label")
    box = page.locator(".graph-node.collapsed[data-group='encoder.0']")
    box.wait_for()
    assert boxes.count() == len(nodes) - 4
    assert "Block" in box.locator(".graph-node-type").text_content()
    assert "4 nodes" in box.locator(".graph-node-name").text_content()
    assert box.locator(".graph-node-params").text_content() == "280"
    assert box.locator(".graph-node-shape").text_content() == "2×8"
    assert page.locator("path.graph-edge[data-from=embed][data-to='group:encoder.0']").count() == 1
    assert page.locator("path.graph-edge[data-from='group:encoder.0'][data-to=encoder_1_fc1]").count() == 1
    screenshot(page, "dashboard-run-graph", tmp_path, full_page=False)
    # Collapse the whole encoder, then expand it again: everything is back.
    page.click(".graph-group[data-group=encoder] .graph-group-label")
    page.locator(".graph-node.collapsed[data-group=encoder]").wait_for()
    assert boxes.count() == len(nodes) - 8
    page.click(".graph-node.collapsed[data-group=encoder]")
    page.locator(".graph-node.collapsed[data-group='encoder.0']").wait_for()  # its own state is kept
    page.click(".graph-node.collapsed[data-group='encoder.0']")
    page.locator(".graph-node[data-name=encoder_0_fc1]").wait_for()
    assert boxes.count() == len(nodes)
    assert page.locator("path.graph-edge").count() == len(edges)

    # Search highlights the matches and dims the rest.
    page.fill(".graph-search", "gelu")
    assert page.locator(".graph-node.hit").count() == 2
    assert page.locator(".graph-hits").text_content() == "2 matches"

    # Zoom with the wheel and the buttons; Fit goes back; a drag pans without zooming.
    z0 = zoom(page)
    bb = svg.bounding_box()
    page.mouse.move(bb["x"] + bb["width"] / 2, bb["y"] + bb["height"] / 2)
    page.mouse.wheel(0, -300)
    page.wait_for_function("z => parseFloat(document.querySelector('svg.graph-svg').dataset.zoom) > z", arg=z0)
    z1 = zoom(page)
    page.click(".graph-zoom-in")
    assert zoom(page) > z1
    before = svg.get_attribute("viewBox").split()
    page.mouse.move(bb["x"] + 30, bb["y"] + 30)
    page.mouse.down()
    page.mouse.move(bb["x"] + 130, bb["y"] + 90, steps=4)
    page.mouse.up()
    after = svg.get_attribute("viewBox").split()
    assert float(after[0]) < float(before[0]) and float(after[1]) < float(before[1]) and after[2:] == before[2:]
    page.click(".graph-fit")
    assert zoom(page) < z1
    frame = svg.bounding_box()
    for i in range(boxes.count()):
        b = boxes.nth(i).bounding_box()
        assert frame["y"] <= b["y"] and b["y"] + b["height"] <= frame["y"] + frame["height"]
        assert frame["x"] <= b["x"] and b["x"] + b["width"] <= frame["x"] + frame["width"]

    # A node's details open on click and Esc closes them, then clears the search.
    page.click(".graph-node[data-name=head]")
    detail = page.locator(".graph-detail")
    detail.wait_for()
    assert "torch.fx" not in detail.inner_text() and "call_module" in detail.inner_text()
    assert "2×3" in detail.inner_text() and "27" in detail.inner_text()
    page.keyboard.press("Escape")
    detail.wait_for(state="hidden")
    page.locator(".graph-canvas").focus()
    page.keyboard.press("Escape")
    assert page.locator(".graph-search").input_value() == ""
    assert page.locator(".graph-node.hit").count() == 0


def test_graph_tab_untraceable_and_deep_models(page: Any, graph_server: Any, graph_store: dict) -> None:
    gate = graph_store["gate"]["payload"]
    assert gate["method"] == "modules" and not gate["nodes"]
    page.goto(f"{graph_server.url}/#/run/graphs/{graph_store['gate']['run']}?tab=graph")
    page.locator("svg.graph-svg").wait_for()
    # No data flow: the leaf modules in definition order, grouped, with the reason shown.
    assert [b.get_attribute("data-name") for b in page.locator(".graph-node[data-name]").all()] == ["a", "b.0", "b.1"]
    assert page.locator("path.graph-edge").count() == 0
    assert page.locator(".graph-group[data-group=b]").count() == 1
    assert "Module tree only" in page.locator(".graph-tree-only").inner_text()
    assert "fx" in page.locator(".graph-errors").inner_text()

    # 242 nodes: it opens with the 60 blocks collapsed (the deepest level that fits 150 boxes).
    deep = graph_store["deep"]["payload"]
    assert len(deep["nodes"]) == 1 + 60 * 4 + 1
    page.goto(f"{graph_server.url}/#/run/graphs/{graph_store['deep']['run']}?tab=graph")
    page.locator("svg.graph-svg").wait_for()
    assert page.locator(".graph-node.collapsed").count() == 60
    assert page.locator(".graph-node[data-name]").count() == 2
    assert page.locator("path.graph-edge").count() == 61
    page.fill(".graph-search", "30.fc2")
    assert page.locator(".graph-node.hit").count() == 1
    assert page.locator(".graph-node.hit").get_attribute("data-group") == "30"
    page.click(".graph-expand-all")
    assert page.locator(".graph-node[data-name]").count() == len(deep["nodes"])
    assert page.locator(".graph-node.hit[data-name='_30_fc2']").count() == 1
