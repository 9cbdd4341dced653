"""Retry, circuit breaker and graceful degradation, built on tenacity and pybreaker.

The transport and the integrations use these; ``integrations.errors`` re-exports them. Every
failure is counted in one place so ``get_error_stats()`` tells what happened.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import pybreaker
import tenacity

log = logging.getLogger("seetrain")
F = TypeVar("F", bound=Callable[..., Any])

_stats: Counter[str] = Counter()
_stats_lock = threading.Lock()
_logged_once: set[str] = set()


def count(kind: str, n: int = 1) -> None:
    with _stats_lock:
        _stats[kind] += n


def get_error_stats() -> dict[str, int]:
    """Counts of retries, give-ups, open-breaker rejections and degraded calls in this process."""
    with _stats_lock:
        return dict(_stats)


def reset_error_stats() -> None:
    with _stats_lock:
        _stats.clear()
        _logged_once.clear()


def _log_once(key: str, message: str, *args: Any) -> None:
    if key not in _logged_once:
        _logged_once.add(key)
        log.warning(message, *args)


def with_retry(max_retries: int = 3, base_delay: float = 0.5, max_delay: float = 30.0,
               retry_on: tuple[type[BaseException], ...] = (Exception,)) -> Callable[[F], F]:
    """Retry with exponential backoff and jitter; re-raises the last error after ``max_retries``."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        count("retries")

    def decorate(func: F) -> F:
        retrying = tenacity.retry(
            stop=tenacity.stop_after_attempt(max_retries + 1),
            wait=tenacity.wait_exponential_jitter(multiplier=base_delay, max=max_delay, jitter=base_delay),
            retry=tenacity.retry_if_exception_type(retry_on),
            before_sleep=before_sleep,
            reraise=True,
        )(func)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return retrying(*args, **kwargs)
            except BaseException:
                count("retry_gave_up")
                raise

        return wrapper  # type: ignore[return-value]

    return decorate


class _CountingListener(pybreaker.CircuitBreakerListener):
    def __init__(self, name: str) -> None:
        self.name = name

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        count(f"breaker_{new_state.name}")
        log.info("seetrain: circuit %s %s -> %s", self.name, old_state.name, new_state.name)


def make_breaker(failure_threshold: int = 5, recovery_timeout: float = 30.0, name: str = "seetrain",
                 exclude: tuple[type[BaseException], ...] = ()) -> pybreaker.CircuitBreaker:
    return pybreaker.CircuitBreaker(fail_max=failure_threshold, reset_timeout=recovery_timeout,
                                    exclude=list(exclude), listeners=[_CountingListener(name)], name=name)


def with_circuit_breaker(failure_threshold: int = 5, recovery_timeout: float = 30.0,
                         breaker: pybreaker.CircuitBreaker | None = None) -> Callable[[F], F]:
    """Stop calling a failing dependency for ``recovery_timeout`` seconds after
    ``failure_threshold`` consecutive failures; calls while open raise ``CircuitBreakerError``."""

    def decorate(func: F) -> F:
        cb = breaker or make_breaker(failure_threshold, recovery_timeout, name=func.__qualname__)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return cb.call(func, *args, **kwargs)
            except pybreaker.CircuitBreakerError:
                count("breaker_rejected")
                raise

        wrapper.breaker = cb  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def with_graceful_degradation(fallback_func: Callable[..., Any] | None = None,
                              name: str | None = None) -> Callable[[F], F]:
    """Never let a failure inside SeeTrain reach the user's training loop: the error is counted,
    logged once, and ``fallback_func(*args, **kwargs)`` (or None) is returned instead."""

    def decorate(func: F) -> F:
        label = name or func.__qualname__

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - the point of this wrapper
                count("degraded_calls")
                count(f"degraded:{type(exc).__name__}")
                _log_once(label, "seetrain: %s failed (%s: %s); training continues without it",
                          label, type(exc).__name__, exc)
                return fallback_func(*args, **kwargs) if fallback_func is not None else None

        return wrapper  # type: ignore[return-value]

    return decorate


CircuitBreakerError = pybreaker.CircuitBreakerError
