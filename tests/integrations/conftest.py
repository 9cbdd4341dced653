"""Fixtures of the LLM autolog tests (OpenAI, ZhipuAI, Anthropic, Cohere, Mistral, Ollama, Google
GenAI, DashScope): the local fake server and the autolog of the client a test module names in its
``PROVIDER`` (a key of ``integrations._autolog.PROVIDERS``). Other adapter tests do not use them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integrations._llm_autolog import assert_restored, enable, patched_attributes


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
