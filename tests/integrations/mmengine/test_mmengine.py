"""SeeTrainVisBackend in a real MMEngine Runner (toy model, 2 epochs, CPU) and used directly."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("mmengine")
torch = pytest.importorskip("torch")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # yapf (config dump) caches under $HOME
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for var in ("RANK", "LOCAL_RANK", "SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE"):
        monkeypatch.delenv(var, raising=False)
    from mmengine.logging import MessageHub, MMLogger
    from mmengine.visualization import Visualizer

    # Runner registers named singletons (visualizer, logger, message hub); drop the ones this
    # test made so no global state outlives it.
    before = {cls: set(cls._instance_dict) for cls in (Visualizer, MMLogger, MessageHub)}
    registered = _register_toys()
    yield
    for reg, name in registered:
        reg._module_dict.pop(name, None)
    for cls, names in before.items():
        for name in set(cls._instance_dict) - names:
            instance = cls._instance_dict.pop(name)
            for handler in getattr(instance, "handlers", [])[:]:
                handler.close()
                instance.removeHandler(handler)
    main.finish()


class ToyDataset(torch.utils.data.Dataset):
    def __init__(self, n: int = 16) -> None:
        gen = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 4, generator=gen)
        self.y = (self.x.sum(dim=1) > 0).long()

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict:
        return {"inputs": self.x[i], "labels": self.y[i]}


def _model_cls():
    from mmengine.model import BaseModel

    class ToyModel(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(4, 2)

        def forward(self, inputs, labels, mode="tensor"):
            logits = self.linear(inputs)
            if mode == "loss":
                return {"loss": torch.nn.functional.cross_entropy(logits, labels)}
            if mode == "predict":
                return [(logits.argmax(dim=1), labels)]
            return logits

    return ToyModel


def _metric_cls():
    from mmengine.evaluator import BaseMetric

    class Accuracy(BaseMetric):
        def process(self, data_batch, data_samples) -> None:
            for pred, labels in data_samples:
                self.results.append(((pred == labels).sum().item(), len(labels)))

        def compute_metrics(self, results) -> dict:
            return {"accuracy": sum(r[0] for r in results) / sum(r[1] for r in results)}

    return Accuracy


def _register_toys() -> list:
    # Config dumps need string types, so the toy classes go into MMEngine's registries for the
    # duration of one test (removed again by the fixture).
    from mmengine.registry import DATASETS, METRICS, MODELS

    pairs = [(DATASETS, "SeeTrainToyDataset", ToyDataset), (MODELS, "SeeTrainToyModel", _model_cls()),
             (METRICS, "SeeTrainToyAccuracy", _metric_cls())]
    for reg, name, cls in pairs:
        reg.register_module(name=name, module=cls, force=True)
    return [(reg, name) for reg, name, _ in pairs]


CONFIG_FILE = """
custom_imports = dict(imports=["integrations.mmengine"], allow_failed_imports=False)
model = dict(type="SeeTrainToyModel")
work_dir = {work_dir!r}
train_dataloader = dict(batch_size=4, dataset=dict(type="SeeTrainToyDataset"), num_workers=0,
                        sampler=dict(type="DefaultSampler", shuffle=False),
                        collate_fn=dict(type="default_collate"))
val_dataloader = train_dataloader
train_cfg = dict(by_epoch=True, max_epochs=2, val_interval=1)
val_cfg = dict()
val_evaluator = dict(type="SeeTrainToyAccuracy")
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.1))
default_hooks = dict(logger=dict(type="LoggerHook", interval=2), checkpoint=None)
visualizer = dict(type="Visualizer", vis_backends=[{backend!r}])
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend="gloo"))
randomness = dict(seed=0)
launcher = "none"
"""


def _run_from_cfg(tmp_path, backend: dict):
    """The user's path: a config file naming the backend, loaded with its custom_imports."""
    from mmengine.config import Config
    from mmengine.runner import Runner

    path = tmp_path / "toy_config.py"
    path.write_text(CONFIG_FILE.format(work_dir=str(tmp_path / "work_dir"), backend=backend))
    runner = Runner.from_cfg(Config.fromfile(str(path)))
    runner.train()
    return runner


def test_runner_from_cfg_records_config_scalars_and_finishes(tmp_path):
    logdir = tmp_path / "logs"
    backend_cfg = dict(type="SeeTrainVisBackend",
                       init_kwargs=dict(project="mm", experiment_name="toy", logdir=str(logdir),
                                        system_monitor=False, capture_console=False))
    runner = _run_from_cfg(tmp_path, backend_cfg)
    backend = runner.visualizer.get_backend("SeeTrainVisBackend")
    assert backend.integration.get_stats()["degraded_calls"] == 0

    (view,) = seetrain.Api(logdir).runs("mm")
    assert view.name == "toy"
    assert view.status == "finished"
    assert view.config["framework"]["name"] == "mmengine"
    assert view.config["framework"]["mode"] == "visbackend"
    assert "mmengine" in view.tags
    # add_config: the Runner's config, as given
    assert view.config["train_cfg"] == {"by_epoch": True, "max_epochs": 2, "val_interval": 1}
    assert view.config["optim_wrapper"]["optimizer"]["lr"] == 0.1
    assert view.metadata["mmengine_save_dir"].endswith("vis_data")
    # LoggerHook: train scalars every 2 iterations (4 iterations per epoch), step = iteration
    loss = view.scalars("loss")
    assert [s for s, _, _ in loss] == [2, 4, 6, 8]
    assert all(np.isfinite(v) for _, _, v in loss)
    assert [v for _, _, v in view.scalars("lr")] == [pytest.approx(0.1)] * 4
    # validation after each epoch, step = epoch
    acc = view.scalars("accuracy")
    assert [s for s, _, _ in acc] == [1, 2]
    assert all(0.0 <= v <= 1.0 for _, _, v in acc)


def test_runner_val_after_train_continues_the_same_run(tmp_path):
    logdir = tmp_path / "logs"
    backend_cfg = dict(type="SeeTrainVisBackend", project="mm", logdir=str(logdir),
                       system_monitor=False, capture_console=False)
    runner = _run_from_cfg(tmp_path, backend_cfg)
    runner.val()
    runner.visualizer.close()
    (view,) = seetrain.Api(logdir).runs("mm")
    assert view.status == "finished"
    assert len(view.scalars("accuracy")) == 3


def test_failure_inside_seetrain_does_not_break_training(tmp_path, monkeypatch):
    def broken(self, data, step=None):
        raise RuntimeError("store is gone")

    monkeypatch.setattr(seetrain.Run, "log", broken)
    backend_cfg = dict(type="SeeTrainVisBackend", project="mm", logdir=str(tmp_path / "logs"),
                       system_monitor=False, capture_console=False)
    runner = _run_from_cfg(tmp_path, backend_cfg)
    assert runner.iter == 8  # training completed
    backend = runner.visualizer.get_backend("SeeTrainVisBackend")
    assert backend.integration.get_stats()["degraded_calls"] > 0


def test_hub_backend_direct_calls(tmp_path):
    from mmengine.config import Config

    logdir = tmp_path / "logs"
    integration = main.init_mmengine(project="direct", logdir=str(logdir), system_monitor=False,
                                     capture_console=False)
    backend = integration.get_backend()
    backend.add_config(Config(dict(model=dict(depth=3), lr=0.01)))
    backend.add_scalar("loss", 0.5, step=1)
    backend.add_scalars({"loss": 0.25, "acc": np.float32(0.75)}, step=2)
    image = np.zeros((8, 6, 3), dtype=np.uint8)
    image[..., 0] = 255  # red, RGB order
    backend.add_image("sample", image, step=2)
    backend.add_graph(torch.nn.Linear(3, 2))
    assert backend.experiment is integration.run
    backend.close()  # a bound run belongs to the integration: only flushed
    assert integration.enabled
    integration.finish()
    integration.finish()

    (view,) = seetrain.Api(logdir).runs("direct")
    assert view.status == "finished"
    assert view.config["model"] == {"depth": 3} and view.config["lr"] == 0.01
    assert view.config["framework"]["name"] == "mmengine"
    assert [(s, v) for s, _, v in view.scalars("loss")] == [(1, 0.5), (2, 0.25)]
    assert view.scalars("acc")[0][2] == pytest.approx(0.75)
    (img,) = view.media("sample", kind="image")
    assert img.step == 2 and (img.payload["width"], img.payload["height"]) == (6, 8)
    from PIL import Image

    with Image.open(img.path) as pil:
        assert pil.convert("RGB").getpixel((0, 0)) == (255, 0, 0)
    (graph,) = view.media(kind="model_graph")
    assert graph.payload["parameters"] == 8
    (traced,) = view.media(kind="graph")  # routed to seetrain.log_graph's record
    assert traced.payload["method"] == "torch.fx" and traced.payload["total_params"] == 8


def test_backend_instance_in_visualizer(tmp_path):
    from mmengine.visualization import Visualizer

    from integrations.mmengine import SeeTrainVisBackend

    logdir = tmp_path / "logs"
    backend = SeeTrainVisBackend(project="inst", logdir=str(logdir), system_monitor=False,
                                 capture_console=False)
    visualizer = Visualizer(name="seetrain-test-instance", vis_backends=[backend])
    visualizer.add_scalars({"a": 1.0}, step=3)
    visualizer.add_image("img", np.full((4, 4, 3), 128, dtype=np.uint8), step=3)
    visualizer.close()
    (view,) = seetrain.Api(logdir).runs("inst")
    assert view.status == "finished"
    assert view.scalars("a")[0][::2] == (3, 1.0)
    assert len(view.media("img", kind="image")) == 1


def test_rank_nonzero_writes_nothing(tmp_path, monkeypatch):
    from integrations.mmengine import SeeTrainVisBackend

    monkeypatch.setenv("RANK", "1")
    logdir = tmp_path / "logs"
    backend = SeeTrainVisBackend(init_kwargs=dict(project="r", logdir=str(logdir)))
    backend.add_scalars({"loss": 1.0}, step=1)
    backend.add_image("img", np.zeros((4, 4, 3), dtype=np.uint8))
    backend.close()
    assert seetrain.Api(logdir).runs() == []


def test_registered_under_exact_name():
    from mmengine.registry import VISBACKENDS

    from integrations.mmengine import SeeTrainVisBackend

    assert VISBACKENDS.get("SeeTrainVisBackend") is SeeTrainVisBackend
