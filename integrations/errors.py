"""Errors of the hub, and the resilience primitives (tenacity retry, pybreaker breaker, graceful
degradation) re-exported from ``seetrain.resilience`` where the core keeps them."""

from __future__ import annotations

from typing import Any

from seetrain._errors import SeeTrainError
from seetrain.resilience import (
    CircuitBreakerError,
    get_error_stats,
    make_breaker,
    reset_error_stats,
    with_circuit_breaker,
    with_graceful_degradation,
    with_retry,
)

__all__ = [
    "CircuitBreakerError", "FrameworkNotInstalledError", "IntegrationError", "UnknownIntegrationError",
    "get_integration_error_stats", "make_breaker", "reset_error_stats", "with_circuit_breaker",
    "with_graceful_degradation", "with_retry",
]


class IntegrationError(SeeTrainError):
    """Base class of the hub's errors."""


class UnknownIntegrationError(IntegrationError, KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        super().__init__(f"unknown integration {name!r}; known integrations: {', '.join(sorted(known))}")
        self.name = name
        self.known = known

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class FrameworkNotInstalledError(IntegrationError, ImportError):
    """The framework an adapter needs is missing or too old."""

    def __init__(self, integration: str, package: str, extra: str, min_version: str,
                 found: str | None = None) -> None:
        problem = f"{package} {found} is older than the minimum {min_version}" if found else \
            f"{package} is not installed"
        super().__init__(f"integration {integration!r} needs {package}>={min_version}: {problem}. "
                         f"Install it with: pip install 'seetrain[{extra}]'")
        self.integration = integration
        self.package = package
        self.extra = extra
        self.min_version = min_version


def get_integration_error_stats() -> dict[str, Any]:
    """Process-wide counts (retries, breaker state changes, degraded calls) plus per-integration stats."""
    from integrations import main

    return {
        "global": get_error_stats(),
        "integrations": {f"{i.name}#{idx}": i.get_stats() for idx, i in enumerate(main.active_integrations())},
    }
