"""Accelerate tracker: a real Accelerator on CPU with a tiny torch model, read back through Api."""

from __future__ import annotations

import pytest

pytest.importorskip("accelerate")
torch = pytest.importorskip("torch")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402

pytestmark = pytest.mark.integration

QUIET = {"system_monitor": False, "capture_console": False}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    for var in ("SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_MODE", "RANK", "LOCAL_RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    yield
    from accelerate.state import AcceleratorState

    # Accelerate keeps its state in a process-wide singleton; the next test starts fresh.
    AcceleratorState._reset_state(reset_partial_state=True)
    main.finish()


def _train(accelerator, steps: int = 4) -> list[float]:
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.utils.data.TensorDataset(torch.randn(16, 3), torch.randn(16, 1))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    losses = []
    for step, (x, y) in enumerate(loader):
        if step >= steps:
            break
        loss = torch.nn.functional.mse_loss(model(x), y)
        accelerator.backward(loss)
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
        accelerator.log({"train/loss": loss.item(), "lr": 0.1, "phase": "train"}, step=step)
    return losses


def test_log_with_instance_uses_init_trackers_project(tmp_path):
    from accelerate import Accelerator

    from integrations.accelerate import SeeTrainTracker

    tracker = SeeTrainTracker(run_name="baseline", logdir=str(tmp_path), tags=["cpu"], **QUIET)
    accelerator = Accelerator(cpu=True, log_with=tracker)
    accelerator.init_trackers("acc-proj", config={"lr": 0.1, "batch_size": 4})
    losses = _train(accelerator)
    assert accelerator.get_tracker("seetrain") is tracker
    assert accelerator.get_tracker("seetrain", unwrap=True) is tracker.tracker
    accelerator.end_training()

    (view,) = seetrain.Api(tmp_path).runs("acc-proj")
    assert view.name == "baseline"
    assert view.status == "finished"
    assert view.config["lr"] == 0.1 and view.config["batch_size"] == 4
    assert view.config["framework"]["name"] == "accelerate"
    assert view.config["framework"]["mode"] == "tracker"
    assert {"accelerate", "cpu"} <= set(view.tags)
    assert [(s, pytest.approx(v)) for s, _, v in view.scalars("train/loss")] == list(enumerate(losses))
    assert [s for s, _, _ in view.scalars("lr")] == [0, 1, 2, 3]
    texts = view.media("phase", kind="text")
    assert len(texts) == 4 and texts[0].payload["text"] == "train"


def test_explicit_project_wins_over_init_trackers(tmp_path):
    from accelerate import Accelerator

    from integrations.accelerate import SeeTrainTracker

    accelerator = Accelerator(cpu=True, log_with=SeeTrainTracker(project="mine", logdir=str(tmp_path), **QUIET))
    accelerator.init_trackers("theirs")
    accelerator.log({"x": 1.0}, step=0)
    accelerator.end_training()
    assert seetrain.Api(tmp_path).projects() == ["mine"]


def test_log_with_string_name_registered_with_accelerate(tmp_path):
    from accelerate import Accelerator

    import integrations.accelerate  # noqa: F401 - registers "seetrain" with Accelerate

    accelerator = Accelerator(cpu=True, log_with="seetrain")
    accelerator.init_trackers("by-name", config={"seed": 1},
                              init_kwargs={"seetrain": {"run_name": "r", "logdir": str(tmp_path), **QUIET}})
    _train(accelerator, steps=2)
    accelerator.end_training()
    (view,) = seetrain.Api(tmp_path).runs("by-name")
    assert view.name == "r" and view.config["seed"] == 1 and view.status == "finished"
    assert [s for s, _, _ in view.scalars("train/loss")] == [0, 1]


def test_hub_init_accelerate_get_tracker(tmp_path):
    from accelerate import Accelerator

    integration = main.init_accelerate(project="hub", experiment_name="via-hub", logdir=str(tmp_path), **QUIET)
    tracker = integration.get_tracker()
    assert tracker is integration.get_tracker()
    accelerator = Accelerator(cpu=True, log_with=tracker)
    accelerator.init_trackers("ignored", config={"opt": "sgd"})
    _train(accelerator, steps=3)
    accelerator.end_training()
    # end_training is final: the bound hub integration finishes too (issue 14: it used to stay
    # "running" with nothing flushed).
    assert integration.run.status == "finished" and integration.get_stats()["enabled"] is False
    integration.finish()  # the owner's finish afterwards is harmless
    (view,) = seetrain.Api(tmp_path).runs("hub")
    assert view.name == "via-hub" and view.config["opt"] == "sgd" and view.status == "finished"
    assert [s for s, _, _ in view.scalars("train/loss")] == [0, 1, 2]


def test_non_zero_rank_writes_nothing(tmp_path, monkeypatch):
    from accelerate import Accelerator

    from integrations.accelerate import SeeTrainTracker

    monkeypatch.setenv("RANK", "1")
    accelerator = Accelerator(cpu=True, log_with=SeeTrainTracker(logdir=str(tmp_path), **QUIET))
    accelerator.init_trackers("ranked", config={"a": 1})
    _train(accelerator, steps=2)
    accelerator.end_training()
    assert seetrain.Api(tmp_path).runs() == []


def test_seetrain_failure_does_not_break_training(tmp_path):
    from accelerate import Accelerator

    from integrations.accelerate import SeeTrainTracker

    tracker = SeeTrainTracker(logdir=str(tmp_path), **QUIET)
    accelerator = Accelerator(cpu=True, log_with=tracker)
    accelerator.init_trackers("broken")

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    tracker.tracker.log = boom
    losses = _train(accelerator, steps=3)
    assert len(losses) == 3
    assert tracker.integration.get_stats()["degraded_calls"] == 3
    accelerator.end_training()
    accelerator.end_training()  # finishing twice is harmless
    (view,) = seetrain.Api(tmp_path).runs("broken")
    assert view.status == "finished"


def test_tracker_on_a_run_passed_in_is_flushed_and_left_open(tmp_path):
    from accelerate import Accelerator

    run = seetrain.init(project="shared", logdir=str(tmp_path), reinit="create_new", **QUIET)
    integration = main.init_accelerate(run=run)
    accelerator = Accelerator(cpu=True, log_with=integration.get_tracker())
    accelerator.init_trackers("ignored")
    _train(accelerator, steps=2)
    accelerator.end_training()
    assert run.status == "running"  # the caller's run: theirs to finish
    (view,) = seetrain.Api(tmp_path).runs("shared")
    assert [s for s, _, _ in view.scalars("train/loss")] == [0, 1]  # flushed all the same
    run.finish()


def _uncreatable(tmp_path) -> str:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    return str(blocker / "logs")


def test_hub_path_with_uncreatable_logdir_degrades_like_the_tracker(tmp_path, caplog):
    from accelerate import Accelerator

    from integrations import errors

    errors.reset_error_stats()
    with caplog.at_level("WARNING", logger="seetrain"):
        with main.with_integration("accelerate", project="p", logdir=_uncreatable(tmp_path), **QUIET) as integ:
            accelerator = Accelerator(cpu=True, log_with=integ.get_tracker())
            accelerator.init_trackers("p", config={"lr": 0.1})
            losses = _train(accelerator, steps=3)
            stats = errors.get_integration_error_stats()
            accelerator.end_training()
    assert len(losses) == 3  # training went on
    (own,) = stats["integrations"].values()
    assert own["degraded_calls"] == stats["global"]["degraded_calls"] == 1
    assert own["errors"] == {"NotADirectoryError": 1} and own["records_sent"] == 0
    assert len([r for r in caplog.records if "NotADirectoryError" in r.getMessage()]) == 1
