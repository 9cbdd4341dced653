"""Errors of the hub (defined in ``integrations.exceptions``) and the resilience primitives
(tenacity retry, pybreaker breaker, graceful degradation) re-exported from ``seetrain.sync.resilience``
where the core keeps them. Guide: docs/integrations/hub_api.md."""

from __future__ import annotations

from typing import Any

from integrations import _active
from integrations.exceptions import FrameworkNotInstalledError, IntegrationError, UnknownIntegrationError
from seetrain.sync.resilience import (
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


def get_integration_error_stats() -> dict[str, Any]:
    """Process-wide counts plus the stats of every open integration::

        {"global": {"degraded_calls": 1, "retries": 2, ...},        # only kinds that happened
         "integrations": {"accelerate#0": {...integration.get_stats()...}}}

    ``global`` counts every retry, give-up, breaker state change and degraded call in this
    process (hub or not); each failure of an integration counts once there and once in its own
    ``degraded_calls``. Finished integrations leave ``integrations`` but stay in ``global``.
    """
    return {
        "global": get_error_stats(),
        "integrations": {label: i.get_stats() for label, i in _active.labelled().items()},
    }
