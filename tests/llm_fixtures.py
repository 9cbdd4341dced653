"""The fake LLM server (tests/llm_fake_server.py) as pytest fixtures: ``server`` is one server on
127.0.0.1 per test module, ``srv`` the same server with its scripted failures and counters reset
for the test. Registered for the whole suite by tests/conftest.py (``pytest_plugins``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.llm_fake_server import FakeLLMServer


@pytest.fixture(scope="module")
def server() -> Iterator[FakeLLMServer]:
    with FakeLLMServer() as srv:
        yield srv


@pytest.fixture
def srv(server: FakeLLMServer) -> FakeLLMServer:
    server.reset()
    return server
