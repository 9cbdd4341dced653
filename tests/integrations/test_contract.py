"""One contract over every adapter in the registry whose framework is installed: the same log
sequence, the same expected keys and steps, the framework tag, the final status, and a harmless
second finish(). Each adapter's own tests drive its framework for real; this checks they agree."""

from __future__ import annotations

import importlib.util

import pytest

import seetrain
from integrations import main, registry

GETTERS = {"callback": "get_callback", "tracker": "get_tracker", "visbackend": "get_backend"}


def _installed(name: str) -> bool:
    spec = registry.get_spec(name)
    try:
        registry.find_framework(spec)
    except ImportError:
        return False
    module = spec.target.partition(":")[0]
    return importlib.util.find_spec(module) is not None


ADAPTERS = [
    pytest.param(name, marks=pytest.mark.skipif(not _installed(name), reason=f"{name} or its adapter not installed"))
    for name in sorted(n for n in registry.names() if n in {s.name for s in registry._BUILTIN})
]


@pytest.mark.integration
@pytest.mark.parametrize("name", ADAPTERS)
def test_adapter_contract(name, logdir):
    spec = registry.get_spec(name)
    integration = main.init(name, project="contract", experiment_name=name, logdir=str(logdir))
    try:
        if spec.mode in GETTERS:
            assert getattr(integration, GETTERS[spec.mode])() is not None
        else:
            assert callable(integration.disable)
        for step in range(3):
            integration.log({"contract/loss": 1.0 / (step + 1), "contract/acc": step / 3}, step=step)
        assert integration.get_stats()["degraded_calls"] == 0
    finally:
        integration.finish()
    integration.finish()  # twice is harmless
    (view,) = seetrain.Api(logdir).runs("contract")
    assert view.status == "finished"
    assert [(s, v) for s, _, v in view.scalars("contract/loss")] == [(0, 1.0), (1, 0.5), (2, 1.0 / 3)]
    tag = view.config["framework"]
    assert tag["name"] == name and tag["mode"] == spec.mode and tag["version"]
    assert name in view.tags
    assert main.active_integrations() == []
