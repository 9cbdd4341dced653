"""Fixtures of the LLM autolog tests (OpenAI, ZhipuAI, Anthropic, Cohere, Mistral, Ollama, Google
GenAI, DashScope): the local fake server and the autolog of the client a test module names in its
``PROVIDER`` (a key of ``integrations._autolog.PROVIDERS``). Other adapter tests do not use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations._llm_autolog import assert_restored, enable, patched_attributes


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    """One fake LLM server (tests/llm_fake_server.py) on 127.0.0.1 per test module."""
    from tests.llm_fake_server import FakeLLMServer

    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
def srv(server: Any) -> Any:
    """The module's fake server, its scripted failures and counters reset for this test."""
    server.reset()
    return server


@pytest.fixture
def originals(request: pytest.FixtureRequest) -> Iterator[dict[tuple[Any, str], Any]]:
    """The module's client methods before the test; after it they must be back exactly."""
    before = patched_attributes(request.module.PROVIDER)
    yield before
    assert_restored(before)


@pytest.fixture
def autolog(request: pytest.FixtureRequest, logdir: Path, srv: Any, originals: Any) -> Iterator[Any]:
    """The module's autolog enabled into ``logdir`` (experiment "chat"), disabled after the test."""
    made = enable(request.module.PROVIDER, logdir)
    yield made
    made.disable()
