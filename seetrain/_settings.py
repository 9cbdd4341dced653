"""Every ``SEETRAIN_*`` environment variable the SDK reads, in one table, and the one reader.

Explicit arguments win, then the environment, then the defaults here (the order W&B users
know). Modules never read ``os.environ`` for a SeeTrain variable themselves: they call
:func:`setting`. :func:`markdown_table` is the table docs/settings.md holds (a test keeps the
two equal). The tracking server's own variables (``SEETRAIN_SERVER_*``) are
read by ``seetrain server`` (see docs/server.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MODES = ("local", "online", "offline", "disabled")
DEFAULT_LOGDIR = "./seetrain_logs"
DEFAULT_PROJECT = "default"


def _flag(text: str) -> bool:
    return text.strip().lower() not in ("0", "false", "no", "off", "")


@dataclass(frozen=True)
class Variable:
    name: str
    default: Any
    parse: Callable[[str], Any]
    doc: str


_VARIABLES = (
    # the run
    Variable("SEETRAIN_MODE", "local", str.lower, "`local`, `online`, `offline` or `disabled` (`init(mode=)`)"),
    Variable("SEETRAIN_LOGDIR", DEFAULT_LOGDIR, str, "where runs are stored (`init(logdir=)`, `Api(logdir)`)"),
    Variable("SEETRAIN_PROJECT", DEFAULT_PROJECT, str, "project of runs started without `project=`"),
    Variable("SEETRAIN_HOST", None, str, "tracking server URL for online mode and `sync` (`init(host=)`)"),
    Variable("SEETRAIN_API_KEY", None, str, "write token sent to the tracking server"),
    Variable("SEETRAIN_FLUSH_INTERVAL", 0.2, float, "seconds between writer flushes from the journal into the store"),
    Variable("SEETRAIN_FINISH_TIMEOUT", 30.0, float,
             "seconds `finish()` waits for a store that refuses writes before leaving the rest in the journal"),
    # training insight
    Variable("SEETRAIN_SYSTEM_MONITOR", True, _flag, "system metrics on (`1`) or off (`0`) by default"),
    Variable("SEETRAIN_MONITOR_INTERVAL", 2.0, float, "seconds between system metric samples"),
    Variable("SEETRAIN_CAPTURE_CONSOLE", True, _flag, "console capture on (`1`) or off (`0`) by default"),
    Variable("SEETRAIN_CONSOLE_MAX_LINES", 100_000, int, "console lines kept per run (more are counted)"),
    Variable("SEETRAIN_CONSOLE_MAX_BYTES", 20 * 1024 * 1024, int, "console bytes kept per run"),
    # upload to a tracking server
    Variable("SEETRAIN_UPLOAD_TIMEOUT", 5.0, float, "seconds `finish()` waits for the upload before leaving the rest to `sync`"),
    Variable("SEETRAIN_REPLICATOR_INTERVAL", 0.5, float, "seconds between upload rounds while idle"),
    Variable("SEETRAIN_UPLOAD_BATCH", 2000, int,
             "media and console records per upload batch (points go 10,000 per batch unless this is set)"),
    Variable("SEETRAIN_UPLOAD_MAX_ATTEMPTS", 20, int, "attempts per batch on server errors before the upload stops"),
    Variable("SEETRAIN_UPLOAD_JSON_POINTS", False, _flag, "send points as JSON records instead of packed chunks"),
    Variable("SEETRAIN_HTTP_TIMEOUT", None, float, "seconds per HTTP request to the server"),
    Variable("SEETRAIN_RETRY_MAX", None, int, "retries of one request (tenacity)"),
    Variable("SEETRAIN_BACKOFF_BASE", None, float, "first retry back-off, seconds"),
    Variable("SEETRAIN_BACKOFF_MAX", None, float, "longest retry back-off, seconds"),
    Variable("SEETRAIN_BREAKER_FAIL_MAX", None, int, "failures that open the circuit breaker (pybreaker)"),
    Variable("SEETRAIN_BREAKER_RESET", None, float, "seconds before an open breaker lets a request through"),
    Variable("SEETRAIN_S3_ENDPOINT_URL", None, str, "S3-compatible endpoint for `s3://` media and artifact stores"),
    # artifacts
    Variable("SEETRAIN_ARTIFACT_LINK", "copy", str.lower, "how artifact files enter the store: `copy`, `hardlink` or `reflink`"),
    Variable("SEETRAIN_ARTIFACT_THREADS", 0, int, "threads hashing a logged folder (0: up to 4)"),
    Variable("SEETRAIN_ARTIFACT_CHUNK_MB", 8.0, float, "artifact upload chunk size, MB"),
    Variable("SEETRAIN_ARTIFACT_UPLOAD_TIMEOUT", 600.0, float, "seconds `finish()` waits for artifact uploads"),
    Variable("SEETRAIN_LOG_MODEL", "", str.lower, "HF Trainer: `checkpoint` or `end` stores checkpoints as artifacts"),
)
VARIABLES: dict[str, Variable] = {v.name: v for v in _VARIABLES}


def default(name: str) -> Any:
    """The default of ``name`` (modules name their constants after it, so it is written once)."""
    return VARIABLES[name].default


def setting(name: str) -> Any:
    """The value of ``name`` from the environment, parsed, or its default (also when the
    environment holds something that does not parse: a typo must not stop a training)."""
    var = VARIABLES[name]
    raw = os.environ.get(name)
    if raw is None or (raw == "" and var.parse is not str):
        return var.default
    try:
        return var.parse(raw)
    except ValueError:
        return var.default


@dataclass(frozen=True)
class Settings:
    mode: str
    logdir: str
    project: str
    host: str | None
    api_key: str | None
    flush_interval: float
    finish_timeout: float = 30.0


def resolve(
    mode: str | None = None,
    logdir: str | os.PathLike[str] | None = None,
    project: str | None = None,
    host: str | None = None,
) -> Settings:
    """Explicit arguments first, then environment variables, then defaults (as in W&B)."""
    mode = (mode or setting("SEETRAIN_MODE") or "local").lower()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return Settings(
        mode=mode,
        logdir=os.path.abspath(os.fspath(logdir or setting("SEETRAIN_LOGDIR") or DEFAULT_LOGDIR)),
        project=project or setting("SEETRAIN_PROJECT") or DEFAULT_PROJECT,
        host=host or setting("SEETRAIN_HOST"),
        api_key=setting("SEETRAIN_API_KEY"),
        flush_interval=setting("SEETRAIN_FLUSH_INTERVAL"),
        finish_timeout=setting("SEETRAIN_FINISH_TIMEOUT"),
    )


def markdown_table() -> str:
    """The variables as the Markdown table in docs/settings.md."""
    lines = ["| variable | default | meaning |", "|---|---|---|"]
    for var in _VARIABLES:
        default = "unset" if var.default is None else f"`{var.default}`"
        lines.append(f"| `{var.name}` | {default} | {var.doc} |")
    return "\n".join(lines) + "\n"
