"""Every example script runs as a user would run it (a fresh process, its own working folder)
and leaves finished runs behind, so the examples cannot silently rot."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

import seetrain
from tests.helpers import ROOT

EXAMPLES = sorted(p.stem for p in (ROOT / "examples").glob("*.py"))
# online_logging needs a server (covered by tests/e2e); ultralytics has its own lane.
NEEDS = {"ultralytics_example": "ultralytics", "ray_tune_example": "ray", "mlflow_mirror_example": "mlflow",
         "mmengine_example": "mmengine", "keras_example": "keras", "lightning_example": "lightning",
         "transformers_example": "transformers", "accelerate_example": "accelerate", "optuna_example": "optuna",
         "wandb_mirror_example": "wandb", "tensorboard_mirror_example": "tensorboardX",
         "insight_torch": "torch", "openai_autolog_example": "openai",
         "anthropic_autolog_example": "anthropic", "zhipuai_autolog_example": "zhipuai",
         "xgboost_example": "xgboost", "autolog_example": "xgboost", "lightgbm_example": "lightgbm",
         "stable_baselines3_example": "stable_baselines3", "catboost_example": "catboost",
         "sklearn_example": "sklearn", "hydra_example": "hydra",
         "trl_example": "trl", "peft_example": "peft", "sentence_transformers_example": "sentence_transformers",
         "mistral_autolog_example": "mistralai", "ollama_autolog_example": "ollama",
         "google_genai_autolog_example": "google.genai", "cohere_autolog_example": "cohere",
         "dashscope_autolog_example": "dashscope"}
NEEDS.update({"paddle_example": "paddle", "visualdl_mirror_example": "visualdl", "fastai_example": "fastai",
              "timm_example": "timm"})


@pytest.mark.integration
@pytest.mark.parametrize("name", [e for e in EXAMPLES if e != "online_logging"])
def test_example_runs_and_finishes_its_runs(name, tmp_path):
    package = NEEDS.get(name)
    if package and importlib.util.find_spec(package) is None:
        pytest.skip(f"{package} not installed")
    logdir = tmp_path / "logs"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path / "home"), "MPLBACKEND": "Agg",
           "SEETRAIN_SYSTEM_MONITOR": "0"}
    proc = subprocess.run([sys.executable, str(ROOT / "examples" / f"{name}.py"), "--logdir", str(logdir)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    runs = seetrain.Api(logdir).runs()
    assert runs, "the example logged no run"
    assert {r.status for r in runs} == {"finished"}, [(r.name, r.status) for r in runs]
    assert any(r.summary or r.media() for r in runs)


def test_every_example_is_listed():
    assert set(EXAMPLES) - {"online_logging", "demo"} <= set(NEEDS)
    assert all(Path(ROOT / "examples" / f"{e}.py").is_file() for e in NEEDS)
