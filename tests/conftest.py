"""Shared test set-up: every test gets a clean SeeTrain state and a tmp logdir."""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path

import pytest

from tests.sdk_env import quiet_local_sdk

# The fake LLM server's `server` and `srv` fixtures, for the resolver and LLM autolog tests (a
# test directory with a `server` fixture of its own, such as tests/e2e, overrides them).
pytest_plugins = ("tests.llm_fixtures",)

# Frameworks read these at import time; set them before any test module imports one.
for _name, _value in {
    "KERAS_BACKEND": "torch", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
    "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "RAY_USAGE_STATS_ENABLED": "0",
    "WANDB_MODE": "offline", "WANDB_SILENT": "true", "MPLBACKEND": "Agg", "YOLO_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)

# The LLM SDK clients the autolog tests make (cohere, ollama, dashscope, google-genai, openai) keep pooled
# keep-alive connections to the fake server and have no close the tests call; whenever the garbage collector
# frees them, the socket warns. In the tests that drive the fake LLM server those warnings are ignored, and
# the tests collect their garbage on teardown so no socket of theirs is freed during a later test.
_LLM_SDK_SOCKETS = [pytest.mark.filterwarnings("ignore:unclosed <socket\\.socket:ResourceWarning"),
                    pytest.mark.filterwarnings("ignore:unclosed transport <_SelectorSocketTransport:ResourceWarning")]


def _drives_fake_llm_server(item: pytest.Item) -> bool:
    return getattr(getattr(item, "module", None), "FakeLLMServer", None) is not None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _drives_fake_llm_server(item):
            for mark in _LLM_SDK_SOCKETS:
                item.add_marker(mark)


@pytest.fixture(autouse=True)
def _collect_llm_sdk_sockets(request: pytest.FixtureRequest):
    yield
    if _drives_fake_llm_server(request.node):
        gc.collect()


@pytest.fixture(autouse=True)
def _clean_seetrain_state(monkeypatch: pytest.MonkeyPatch):
    # The system monitor and console capture are on by default for users; their own tests
    # switch them on explicitly, the rest of the suite keeps them out of the way.
    quiet_local_sdk(monkeypatch)
    yield
    from seetrain import _current_run as _api_module
    from seetrain import _exit

    for run in _exit.active_runs():
        run.finish()
    _api_module._current = None
    if "integrations.main" in sys.modules:
        for integration in sys.modules["integrations.main"].active_integrations():
            integration.finish()


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path
