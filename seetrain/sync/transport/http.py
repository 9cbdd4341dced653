"""HTTP transport: httpx, retried by tenacity, guarded by a pybreaker circuit breaker.

Retries and the breaker live here and nowhere else. 5xx, 408, 429, timeouts and connection
errors are temporary: retried with exponential backoff and jitter (capped), a 429's or 503's
``Retry-After`` wins over the computed delay. Each failed attempt counts toward the breaker;
once open, ``send`` raises :class:`ServerUnavailable` at once, without touching the network,
until ``reset_timeout`` has passed and a trial request succeeds. Other 4xx answers are
permanent (:class:`RejectedError`; 401/403 are :class:`AuthError`) and do not trip the breaker.
"""

from __future__ import annotations

import email.utils
import logging
import os
import threading
import time
from collections import Counter, deque
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import pybreaker
import tenacity

from seetrain._settings import setting
from seetrain.sync.resilience import count, make_breaker
from seetrain.sync.transport.base import (
    AuthError,
    Batch,
    ConflictError,
    RejectedError,
    SendResult,
    ServerUnavailable,
    TemporaryError,
    Transport,
)

log = logging.getLogger("seetrain")

INGEST_BATCH = "/api/v1/ingest/batch"
INGEST_FILE = "/api/v1/ingest/file"
INGEST_FILES = "/api/v1/ingest/files"  # the older path form, for servers before /ingest/file
TEMPORARY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date); None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now or time.time()))


class _BreakerWatch(pybreaker.CircuitBreakerListener):
    """Keeps per-transport counts and the time the breaker opened (pybreaker keeps it private)."""

    def __init__(self, transport: HttpTransport) -> None:
        self.transport = transport

    def state_change(self, cb: pybreaker.CircuitBreaker, old_state: Any, new_state: Any) -> None:
        name = new_state.name if new_state is not None else "closed"
        t = self.transport
        t.counts[f"breaker_{name.replace('-', '_')}"] += 1
        if name == "open":
            t.opened_at = time.monotonic()


class HttpTransport(Transport):
    """Send batches to ``host`` (``http://server:5092``) with the API key as a bearer token.

    ``max_retries`` attempts after the first, backoff from ``backoff_base`` up to
    ``backoff_max`` seconds; the breaker opens after ``breaker_fail_max`` consecutive failed
    attempts and tries again after ``breaker_reset`` seconds.
    """

    def __init__(self, host: str, api_key: str | None = None, *, timeout: float = 10.0,
                 max_retries: int = 3, backoff_base: float = 0.5, backoff_max: float = 30.0,
                 retry_after_max: float = 60.0, breaker_fail_max: int = 5, breaker_reset: float = 30.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.host = host.rstrip("/")
        self.max_retries = max_retries
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.retry_after_max = retry_after_max
        self.counts: Counter[str] = Counter()
        # Seconds per acknowledged request, newest last (benchmarks read p50/p99 from it).
        self.latencies: deque[float] = deque(maxlen=100_000)
        self.opened_at = 0.0
        self._wake = threading.Event()
        self._closed = False
        headers = {"user-agent": "seetrain-client/1"}
        if api_key:
            headers["authorization"] = f"Bearer {api_key}"
        self.client = httpx.Client(base_url=self.host, headers=headers, transport=transport,
                                   timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        self.breaker = make_breaker(breaker_fail_max, breaker_reset, name=f"upload {self.host}",
                                    exclude=(RejectedError,))
        self.breaker.add_listener(_BreakerWatch(self))
        self._exp_wait = tenacity.wait_exponential_jitter(multiplier=backoff_base, max=backoff_max,
                                                          jitter=backoff_base)

    @classmethod
    def from_env(cls, host: str, api_key: str | None = None, **overrides: Any) -> HttpTransport:
        """Timings from SEETRAIN_HTTP_TIMEOUT, SEETRAIN_RETRY_MAX, SEETRAIN_BACKOFF_BASE,
        SEETRAIN_BACKOFF_MAX, SEETRAIN_BREAKER_FAIL_MAX, SEETRAIN_BREAKER_RESET."""
        options: dict[str, Any] = {}
        for name, key in (("timeout", "SEETRAIN_HTTP_TIMEOUT"), ("max_retries", "SEETRAIN_RETRY_MAX"),
                          ("backoff_base", "SEETRAIN_BACKOFF_BASE"), ("backoff_max", "SEETRAIN_BACKOFF_MAX"),
                          ("breaker_fail_max", "SEETRAIN_BREAKER_FAIL_MAX"),
                          ("breaker_reset", "SEETRAIN_BREAKER_RESET")):
            value = setting(key)
            if value is not None:
                options[name] = value
        options.update(overrides)
        return cls(host, api_key, **options)

    # ---- the interface -------------------------------------------------------------------
    def send(self, batch: Batch) -> SendResult:
        dropped: dict[str, str] = {}
        for rel, path in batch.files:
            if not os.path.isfile(path):
                dropped[rel] = "file unreadable locally: missing"
                continue
            try:
                self._call(self._put_file, batch.project, batch.run_id, rel, path)
                self.counts["files_sent"] += 1
            except OSError as exc:
                dropped[rel] = f"file unreadable locally: {type(exc).__name__}"
            except AuthError:
                raise
            except RejectedError as exc:
                # A file the server refuses for good (too large, bad name) costs its record only.
                dropped[rel] = exc.reason
        if dropped:
            batch.media = [m for m in batch.media if m.get("path") not in dropped]
        body = orjson.dumps(batch.to_json())
        answer = self._call(self._post, INGEST_BATCH, body)
        self.counts["batches_sent"] += 1
        self.counts["records_sent"] += batch.record_count()
        return SendResult(answer.get("status", "stored"), int(answer.get("records", 0)), dropped)

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._wake.set()
            self.client.close()

    def stats(self) -> dict[str, Any]:
        return {**self.counts, "breaker_state": self.breaker.current_state}

    @property
    def breaker_open(self) -> bool:
        return self.breaker.current_state == pybreaker.STATE_OPEN

    # ---- retry + breaker -----------------------------------------------------------------
    def _call(self, func: Any, *args: Any) -> Any:
        def wait(state: tenacity.RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, TemporaryError) and exc.retry_after is not None:
                return min(exc.retry_after, self.retry_after_max)
            return self._exp_wait(state)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            self.counts["retries"] += 1
            count("upload_retries")

        def sleep(seconds: float) -> None:
            # finish() wakes this so the last attempt happens within the upload timeout.
            if self._wake.wait(seconds):
                self._wake.clear()

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(TemporaryError),
            stop=tenacity.stop_after_attempt(self.max_retries + 1),
            wait=wait, sleep=sleep, before_sleep=before_sleep, reraise=True)
        return retrying(self._guarded, func, *args)

    def _guarded(self, func: Any, *args: Any) -> Any:
        if self._closed:
            raise ServerUnavailable("transport closed", retry_in=0.0)
        try:
            return self.breaker.call(func, *args)
        except pybreaker.CircuitBreakerError as exc:
            self.counts["breaker_rejected"] += 1
            count("breaker_rejected")
            remaining = max(0.0, self.breaker.reset_timeout - (time.monotonic() - self.opened_at))
            raise ServerUnavailable(f"upload paused: circuit breaker open ({exc})",
                                    retry_in=remaining) from exc

    # ---- one HTTP attempt ----------------------------------------------------------------
    def _put_file(self, project: str, run_id: str, rel: str, path: str) -> httpx.Response:
        """Stream one file (64 KB at a time: memory stays flat whatever the file size)."""
        params = {"project": project, "run_id": run_id, "path": rel}
        with open(path, "rb") as fh:
            try:
                return self._request("PUT", INGEST_FILE, fh, "application/octet-stream", params)
            except RejectedError as exc:
                if exc.status not in (404, 405) or "/" in run_id:
                    raise
        # A server older than /ingest/file: the path form (run ids without '/').
        url = f"{INGEST_FILES}/{quote(project)}/{quote(run_id)}/{quote(rel)}"
        with open(path, "rb") as fh:
            return self._request("PUT", url, fh, "application/octet-stream")

    def _request(self, method: str, url: str, content: Any, content_type: str,
                 params: dict[str, str] | None = None) -> httpx.Response:
        self.counts["requests"] += 1
        started = time.perf_counter()
        try:
            response = self.client.request(method, url, content=content, params=params,
                                           headers={"content-type": content_type})
        except httpx.TimeoutException as exc:
            self.counts["timeouts"] += 1
            raise TemporaryError(f"{method} {url}: timed out ({type(exc).__name__})") from exc
        except httpx.TransportError as exc:
            self.counts["connection_errors"] += 1
            raise TemporaryError(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status < 300:
            self.latencies.append(time.perf_counter() - started)
            return response
        detail = _detail(response)
        if status in TEMPORARY_STATUS:
            self.counts[f"http_{status}"] += 1
            raise TemporaryError(f"{method} {url}: HTTP {status} {detail}", status=status,
                                 retry_after=parse_retry_after(response.headers.get("retry-after")))
        self.counts[f"http_{status}"] += 1
        cls = AuthError if status in (401, 403) else ConflictError if status == 409 else RejectedError
        raise cls(f"{method} {url}: HTTP {status} {detail}", status=status,
                  reason=f"HTTP {status}: {detail[:300]}")

    def _post(self, path: str, body: bytes) -> dict[str, Any]:
        reply: dict[str, Any] = self._request("POST", path, body, "application/json").json()
        return reply


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    detail = (body.get("detail") or body.get("error")) if isinstance(body, dict) else body
    return str(detail)[:400]
