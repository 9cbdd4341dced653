"""SeeTrainCheckpointHook in a real MMEngine Runner: CheckpointHook files become artifact versions."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("mmengine")
torch = pytest.importorskip("torch")

import seetrain  # noqa: E402
from tests.integrations.mmengine.test_mmengine import CONFIG_FILE, _env  # noqa: E402, F401

pytestmark = pytest.mark.integration


def test_checkpoint_hook_files_are_versions_with_best(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    from mmengine.config import Config
    from mmengine.runner import Runner

    logdir = tmp_path / "logs"
    backend = dict(type="SeeTrainVisBackend", init_kwargs=dict(project="mm", logdir=str(logdir),
                                                               system_monitor=False, capture_console=False))
    text = CONFIG_FILE.format(work_dir=str(tmp_path / "work_dir"), backend=backend).replace(
        "checkpoint=None",
        'checkpoint=dict(type="CheckpointHook", interval=1, save_best="accuracy", rule="greater")')
    text += 'custom_hooks = [dict(type="SeeTrainCheckpointHook")]\n'
    path = tmp_path / "toy_config.py"
    path.write_text(text)
    runner = Runner.from_cfg(Config.fromfile(str(path)))
    runner.train()
    (view,) = seetrain.Api(logdir).runs("mm")
    api = seetrain.Api(logdir)
    versions = api.artifact_versions(f"mm/model-{view.id}")
    names = [v.files[0].path for v in versions]
    assert "epoch_1.pth" in names and "epoch_2.pth" in names
    assert any(n.startswith("best_accuracy_epoch_") for n in names)
    best = api.artifact(f"mm/model-{view.id}:best")
    ckpt_hook = next(h for h in runner.hooks if type(h).__name__ == "CheckpointHook")
    assert best.files[0].path == os.path.basename(ckpt_hook.best_ckpt_path)
    state = torch.load(os.path.join(best.download(tmp_path / "dl"), best.files[0].path), weights_only=False)
    assert "linear.weight" in state["state_dict"]
    assert all(v.created_by == view.id for v in versions)
