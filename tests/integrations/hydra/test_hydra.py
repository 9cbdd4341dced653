"""Hydra / OmegaConf: compose with overrides -> run config; a real @hydra.main app (run and
multirun) with the SeeTrain Hydra callback, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("hydra")
omegaconf = pytest.importorskip("omegaconf")

import seetrain  # noqa: E402
from integrations import main  # noqa: E402
from integrations.hydra import config_to_dict, log_config  # noqa: E402
from tests.helpers import ROOT  # noqa: E402

pytestmark = pytest.mark.integration
QUIET = {"system_monitor": False, "capture_console": False}

CONFIG = """
defaults:
  - model: small
  - _self_
lr: 0.01
epochs: 2
name: run-${model.width}
missing_value: ???
"""


def _config_dir(tmp_path):
    conf = tmp_path / "conf"
    (conf / "model").mkdir(parents=True)
    (conf / "config.yaml").write_text(CONFIG)
    (conf / "model" / "small.yaml").write_text("width: 8\ndepth: 2\n")
    (conf / "model" / "large.yaml").write_text("width: 64\ndepth: 6\n")
    return conf


def test_compose_with_overrides_becomes_the_run_config(tmp_path):
    from hydra import compose, initialize_config_dir

    with initialize_config_dir(config_dir=str(_config_dir(tmp_path)), version_base=None):
        cfg = compose(config_name="config", overrides=["model=large", "lr=0.1"])
    assert config_to_dict(cfg) == {"model": {"width": 64, "depth": 6}, "lr": 0.1, "epochs": 2,
                                   "name": "run-64", "missing_value": None}
    seetrain.init(project="hy", logdir=str(tmp_path / "logs"), **QUIET)
    log_config(cfg)
    seetrain.finish()
    (view,) = seetrain.Api(tmp_path / "logs").runs("hy")
    assert view.config["model"] == {"width": 64, "depth": 6} and view.config["name"] == "run-64"

    integration = main.init_hydra(project="hy-hub", logdir=str(tmp_path / "logs"), **QUIET)
    integration.log_config(omegaconf.OmegaConf.create({"a": {"b": "${c}"}, "c": 3}))
    integration.finish()
    (hub,) = seetrain.Api(tmp_path / "logs").runs("hy-hub")
    assert hub.config["a"] == {"b": 3} and hub.config["framework"]["name"] == "hydra"


APP = """
import hydra, seetrain

@hydra.main(config_path="conf", config_name="config", version_base=None)
def train(cfg):
    for epoch in range(cfg.epochs):
        seetrain.log({"loss": cfg.lr / (epoch + 1)})

if __name__ == "__main__":
    train()
"""

CALLBACK = """
hydra:
  run:
    dir: out/run
  sweep:
    dir: out/sweep
  callbacks:
    seetrain:
      _target_: integrations.hydra.SeeTrainHydraCallback
      project: hydra-app
      logdir: {logdir}
      system_monitor: false
      capture_console: false
"""


def test_hydra_app_run_and_multirun_with_the_callback(tmp_path):
    conf = _config_dir(tmp_path)
    logdir = tmp_path / "logs"
    (conf / "config.yaml").write_text(CONFIG + CALLBACK.format(logdir=logdir))
    (tmp_path / "app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"}
    for args in (["model=large", "epochs=3"], ["-m", "lr=0.1,0.2"]):
        proc = subprocess.run([sys.executable, "app.py", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
    runs = {r.name: r for r in seetrain.Api(logdir).runs("hydra-app")}
    assert set(runs) == {"app", "app-0", "app-1"}
    single = runs["app"]
    assert single.status == "finished" and [s for s, _, _ in single.scalars("loss")] == [0, 1, 2]
    assert single.config["model"] == {"width": 64, "depth": 6} and single.config["epochs"] == 3
    assert single.config["hydra"]["overrides"] == ["model=large", "epochs=3"]
    assert single.config["hydra"]["choices"]["model"] == "large"
    sweep = [runs["app-0"], runs["app-1"]]
    assert [r.config["lr"] for r in sweep] == [0.1, 0.2]
    assert sweep[0].group == sweep[1].group and sweep[0].group.endswith("sweep")
    assert [r.config["hydra"]["overrides"] for r in sweep] == [["lr=0.1"], ["lr=0.2"]]
