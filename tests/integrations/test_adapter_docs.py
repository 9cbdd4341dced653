"""The self-contained Python snippets of the new adapters' docs pages run as written (fresh
process, empty directory). Pages whose snippets need a second file (Hydra's app) or a long
training are covered by their examples and tests instead."""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.integration

# (page, index of the ```python block, a module it needs)
SNIPPETS = [("integrations/xgboost.md", 0, "xgboost"), ("integrations/lightgbm.md", 0, "lightgbm"),
            ("integrations/catboost.md", 0, "catboost"), ("integrations/sklearn.md", 0, "sklearn"),
            ("integrations/hydra.md", 0, "omegaconf"), ("integrations/autolog.md", 0, "xgboost"),
            ("insight.md", "timer", None), ("insight.md", "log_graph", "torch")]
# The heavy-framework lanes: paddle/visualdl in the main venv, fastai/timm in the vision lane.
SNIPPETS += [("integrations/paddle.md", 0, "paddle"), ("integrations/visualdl.md", 0, "visualdl"),
             ("integrations/fastai.md", 0, "fastai"), ("integrations/timm.md", 0, "timm"),
             ("integrations/timm.md", 1, "timm")]


def _block(page: str, which: int | str) -> str:
    text = (ROOT / "docs" / page).read_text()
    if isinstance(which, str):  # the first block after the heading that names it
        text = text[text.index(f"## `seetrain.{which}("):]
        which = 0
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)[which]


@pytest.mark.parametrize(("page", "which", "needs"), SNIPPETS, ids=[f"{p}#{w}" for p, w, _ in SNIPPETS])
def test_snippet_runs(page, which, needs, tmp_path):
    if needs and importlib.util.find_spec(needs) is None:
        pytest.skip(f"{needs} not installed")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0"}
    proc = subprocess.run([sys.executable, "-c", _block(page, which)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "seetrain_logs").is_dir()  # every snippet logs into ./seetrain_logs
