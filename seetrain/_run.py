"""The Run: config, step counter, status and the cheap, never-raising ``log`` hot path."""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import time
import warnings
from collections import Counter
from collections.abc import Mapping
from typing import Any

from seetrain import _exit
from seetrain._config import Config, normalize_config
from seetrain._errors import InvalidValueError, RunFinishedError, SeeTrainWarning
from seetrain._media import Audio, Event, Image, Media, Text
from seetrain._meta import framework_versions, git_metadata, static_metadata
from seetrain._settings import Settings
from seetrain._store import DB_NAME, connect, dumps, loads
from seetrain._writer import Summary, Writer

logger = logging.getLogger("seetrain")

MAX_KEY_LENGTH = 256
_KEY_OK = re.compile(r"^[A-Za-z0-9_\-./ :@()\[\]+=#]+$")
_KEY_FIX = re.compile(r"[^A-Za-z0-9_\-./ :@()\[\]+=#]")
FINAL_STATUSES = ("finished", "failed", "aborted")


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


class Run:
    """One experiment run. Create it with :func:`seetrain.init`."""

    def __init__(self, settings: Settings, *, project: str | None = None,
                 experiment_name: str | None = None, description: str | None = None,
                 config: Any = None, tags: list[str] | tuple[str, ...] | None = None,
                 group: str | None = None, resume: str | None = None, strict: bool = False,
                 run_id: str | None = None) -> None:
        self.settings = settings
        self.mode = settings.mode
        self.project = _safe_name(settings.project)
        self.id = resume or run_id or new_run_id()
        self.name = experiment_name or self.id
        self.description = description or ""
        self.tags = [str(t) for t in (tags or [])]
        self.group = group
        self.strict = strict
        self.dir = os.path.join(settings.logdir, self.project, _safe_name(self.id))
        self.status = "running"
        self.created_at = time.time()
        self.stats: Counter[str] = Counter()
        self.warning_counts: Counter[str] = Counter()
        self._warned: set[tuple[str, str]] = set()
        self._known_keys: set[str] = set()
        self._key_alias: dict[str, str | None] = {}
        self._next_step = 0
        self._finished = False
        self._forked = False
        self._finish_lock = threading.Lock()
        self._replicator: Any = None
        self._finish_callbacks: list[Any] = []
        cfg = normalize_config(config)
        summary, previous = self._load_previous() if resume else (None, None)
        if previous is not None:
            # A resumed run keeps its identity: start time, name, description, tags, group.
            cfg = {**(loads(previous["config"]) or {}), **cfg}
            self.created_at = previous["created_at"] or self.created_at
            self.name = experiment_name or previous["name"] or self.name
            self.description = description or previous["description"] or ""
            self.tags = list(dict.fromkeys([*(loads(previous["tags"]) or []), *self.tags]))
            self.group = group = group or previous["group_name"]
        self.config = Config(cfg, on_change=self._on_config_change)
        os.makedirs(self.dir, exist_ok=True)
        self._writer = Writer(self.dir, settings.flush_interval, settings.max_queue, self.stats,
                              self._media_warning, summary=summary,
                              stats_snapshot=self.get_stats)
        self._metadata = static_metadata()
        self._writer.store.create_run({
            "id": self.id, "project": self.project, "name": self.name, "description": self.description,
            "tags": dumps(self.tags), "group_name": group, "status": "running",
            "created_at": self.created_at, "heartbeat_at": self.created_at, "pid": os.getpid(),
            "hostname": self._metadata["hostname"], "config": dumps(cfg),
            "metadata": dumps(self._metadata), "summary": summary.to_json() if summary else None,
        })
        self._git_thread = threading.Thread(target=self._collect_git, name="seetrain-git", daemon=True)
        self._git_thread.start()
        _exit.register(self)

    # ---- resume --------------------------------------------------------------------------
    def _load_previous(self) -> tuple[Summary | None, dict[str, Any] | None]:
        path = os.path.join(self.dir, DB_NAME)
        if not os.path.isfile(path):
            return None, None
        conn = connect(path, readonly=True)
        try:
            cur = conn.execute("SELECT * FROM run")
            found = cur.fetchone()
            row = dict(zip([c[0] for c in cur.description], found)) if found else None
            max_step = _max_step(conn)
        finally:
            conn.close()
        if max_step is not None:
            self._next_step = int(max_step) + 1
        if row is None:
            return None, None
        summary = Summary({k: _revive(v) for k, v in (loads(row["summary"]) or {}).items()})
        return summary, row

    def _collect_git(self) -> None:
        info = git_metadata()
        if info:
            self._metadata["git"] = info
            self._writer.set_run_fields(metadata=dumps(self._metadata))

    # ---- the hot path --------------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None) -> None:
        """Record metrics and media for one step. Never raises on bad data (unless ``strict``)."""
        if self._finished:
            if self._forked:
                self._warn("fork", "", f"log() in a forked child process is not recorded; log from "
                                       f"the process that called seetrain.init (pid {self._metadata['pid']})")
            else:
                self._warn("finished", "", f"run {self.id} is finished; log() ignored", RunFinishedError)
            return
        if type(data) is not dict and not isinstance(data, Mapping):
            self._warn("type", "", f"log() takes a dict, got {type(data).__name__}")
            return
        if step is None:
            step = self._next_step
            self._next_step = step + 1
        else:
            step = self._check_step(step)
            if step >= self._next_step:
                self._next_step = step + 1
        ts = time.time()
        pairs: list[tuple[str, Any]] = []
        known = self._known_keys
        for key, value in data.items():
            if key not in known:
                key = self._check_key(key)
                if key is None:
                    continue
            t = type(value)
            if t is float or t is int:
                pairs.append((key, value))
            else:
                self._slow_value(key, value, step, ts, pairs)
        if pairs:
            self._writer.put(("s", step, ts, pairs))

    def log_side(self, data: Mapping[str, Any], step: int) -> None:
        """Side-channel metrics (system monitor, model watch, attention monitor): stored at
        ``step`` like ``log`` would, but the user's step counter is neither read nor moved, and a
        finished run ignores them silently (they come from background threads)."""
        if self._finished:
            return
        step = self._check_step(step)
        ts = time.time()
        pairs: list[tuple[str, Any]] = []
        for key, value in data.items():
            if key not in self._known_keys:
                key = self._check_key(key)
                if key is None:
                    continue
            self._slow_value(key, value, step, ts, pairs)
        if pairs:
            self._writer.put(("s", step, ts, pairs))

    def _check_step(self, step: Any) -> int:
        if type(step) is int:
            return step
        try:
            as_int = int(step)
            if as_int == step:
                return as_int
        except (TypeError, ValueError, OverflowError):
            pass
        self._warn("step", "", f"step must be an integer, got {step!r}; using the automatic step")
        return self._next_step

    def _check_key(self, key: Any) -> str | None:
        """Validate a key once; later calls with the same key skip this entirely."""
        original = key
        if key in self._key_alias:
            return self._key_alias[key]
        fixed: str | None
        if not isinstance(key, str):
            fixed = _KEY_FIX.sub("_", str(key))[:MAX_KEY_LENGTH] or None
            self._warn("key", str(key), f"metric key must be a string, got {type(key).__name__}: "
                                        f"{key!r}; stored as {fixed!r}")
        elif not key or not key.strip():
            self._warn("key", key, "empty metric key skipped")
            fixed = None
        else:
            fixed = key
            if not _KEY_OK.match(key):
                fixed = _KEY_FIX.sub("_", key)
                self._warn("key", key, f"metric key {key!r} has unsupported characters; stored as {fixed!r}")
            if len(fixed) > MAX_KEY_LENGTH:
                fixed = fixed[:MAX_KEY_LENGTH]
                self._warn("key", key, f"metric key longer than {MAX_KEY_LENGTH} chars truncated")
        try:
            self._key_alias[original] = fixed
        except TypeError:  # unhashable keys cannot be remembered
            return fixed
        if fixed is not None and fixed == original:
            self._known_keys.add(fixed)
        return fixed

    def _slow_value(self, key: str, value: Any, step: int, ts: float, pairs: list) -> None:
        if isinstance(value, Media):
            self._queue_media(key, value, step, ts)
        elif isinstance(value, bool):
            pairs.append((key, int(value)))
        elif isinstance(value, (int, float)):
            pairs.append((key, float(value)))
        elif isinstance(value, Mapping):
            for sub, v in value.items():
                sub_key = self._check_key(f"{key}/{sub}")
                if sub_key is not None:
                    self._slow_value(sub_key, v, step, ts, pairs)
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Media) for v in value):
            for v in value:
                self._queue_media(key, v, step, ts)
        elif isinstance(value, (str, bytes)):
            self._warn("value", key, f"value of {key!r} is a string; wrap text in seetrain.Text to log it")
        else:
            number = _as_number(value)
            if number is None:
                self._warn("value", key, f"value of {key!r} has unsupported type {type(value).__name__}")
            else:
                pairs.append((key, number))

    def _queue_media(self, key: str, media: Media, step: int, ts: float) -> None:
        if media.error is not None:
            self._warn("media", key, f"{key!r}: {media.error}")
            return
        self._writer.put(("m", step, ts, key, media))

    # ---- convenience ---------------------------------------------------------------------
    def log_scalar(self, key: str, value: float, step: int | None = None) -> None:
        self.log({key: value}, step=step)

    def log_image(self, key: str, image: Any, caption: str | None = None, step: int | None = None) -> None:
        self.log({key: image if isinstance(image, Image) else Image(image, caption=caption)}, step=step)

    def log_audio(self, key: str, audio: Any, sample_rate: int = 16000, caption: str | None = None,
                  step: int | None = None) -> None:
        value = audio if isinstance(audio, Audio) else Audio(audio, sample_rate=sample_rate, caption=caption)
        self.log({key: value}, step=step)

    def log_text(self, key: str, text: Any, caption: str | None = None, step: int | None = None) -> None:
        self.log({key: text if isinstance(text, Text) else Text(text, caption=caption)}, step=step)

    def log_event(self, kind: str, payload: dict[str, Any], key: str | None = None,
                  step: int | None = None) -> None:
        """A structured record (e.g. one LLM call) kept beside media; step defaults to the current one."""
        if self._finished:
            return
        use_step = max(self._next_step - 1, 0) if step is None else self._check_step(step)
        self._writer.put(("m", use_step, time.time(), key or kind, Event(kind, payload)))

    def log_console(self, stream: str, line: str, ts: float | None = None) -> None:
        if not self._finished:
            self._writer.put(("c", ts or time.time(), stream, line))

    def log_artifact(self, path: Any, *args: Any, **kwargs: Any) -> Any:
        """Store a file or folder as a new artifact version (see :mod:`seetrain.artifacts`)."""
        from seetrain.artifacts import log_artifact

        return log_artifact(self, path, *args, **kwargs)

    def use_artifact(self, ref: str) -> Any:
        """Resolve ``"name:alias"`` and record that this run used it (see :mod:`seetrain.artifacts`)."""
        from seetrain.artifacts import use_artifact

        return use_artifact(self, ref)

    def update_config(self, values: Any = None, **kwargs: Any) -> None:
        self.config.update(values, **kwargs)

    def set_metadata(self, **values: Any) -> None:
        """Merge values into the run metadata (adapters record framework details here)."""
        self._metadata.update(values)
        self._writer.set_run_fields(metadata=dumps(self._metadata))

    def set_name(self, name: str) -> None:
        """Rename the run (adapters use the framework's own run name when it becomes known)."""
        self.name = str(name)
        self._writer.set_run_fields(name=self.name)

    def add_tags(self, *tags: str) -> None:
        self.tags.extend(str(t) for t in tags if str(t) not in self.tags)
        self._writer.set_run_fields(tags=dumps(self.tags))

    def flush(self, timeout: float = 10.0) -> bool:
        return self._writer.flush(timeout)

    @property
    def step(self) -> int:
        return self._next_step

    @property
    def summary(self) -> dict[str, dict[str, Any]]:
        return {k: dict(v) for k, v in self._writer.summary.data.items()}

    @property
    def finished(self) -> bool:
        return self._finished

    def on_finish(self, callback: Any) -> None:
        """Call ``callback(run)`` just before the run closes (monitors, console capture ...)."""
        self._finish_callbacks.append(callback)

    def get_stats(self) -> dict[str, Any]:
        return {**self.stats, "warnings": dict(self.warning_counts), "queued": len(self._writer.queue)}

    # ---- bad input -------------------------------------------------------------------------
    def _warn(self, kind: str, key: str, message: str,
              error: type[Exception] = InvalidValueError) -> None:
        self.warning_counts[kind] += 1
        if self.strict:
            raise error(message)
        if (kind, key) not in self._warned:
            self._warned.add((kind, key))
            warnings.warn(f"seetrain: {message}", SeeTrainWarning, stacklevel=4)

    def _media_warning(self, key: str, message: str) -> None:
        # Runs on the writer thread: count and log, never raise there.
        self.warning_counts["media"] += 1
        if ("media", key) not in self._warned:
            self._warned.add(("media", key))
            logger.warning("seetrain: %s", message)

    def _on_config_change(self, data: dict[str, Any]) -> None:
        self._writer.set_run_fields(config=dumps(data))

    # ---- end of the run ----------------------------------------------------------------------
    def finish(self, status: str = "finished", error: str | None = None, timeout: float | None = None) -> None:
        """Flush everything and close the run. Idempotent."""
        with self._finish_lock:
            if self._finished:
                return
            for callback in self._finish_callbacks:
                try:
                    callback(self)
                except Exception:  # noqa: BLE001
                    logger.exception("seetrain: a finish callback failed")
            self._finished = True
            self._git_thread.join(5.0)  # a very short run must still record its commit
            self.status = status if status in FINAL_STATUSES else "finished"
            end = time.time()
            self._metadata["frameworks"] = {**self._metadata.get("frameworks", {}), **framework_versions()}
            self._metadata["duration"] = end - self.created_at
            final = {"status": self.status, "finished_at": end, "metadata": dumps(self._metadata)}
            if error:
                final["error"] = error
            self._writer.close(final)
            if self._replicator is not None:
                self._replicator.finish(timeout)
            _exit.unregister(self)

    def _detach_after_fork(self) -> None:
        # Called in a forked child: the writer thread does not exist here and the store's
        # connection belongs to the parent, so the child's copy of the run only says no.
        self._finished = True
        self._forked = True
        self._finish_callbacks = []
        self._replicator = None

    def __enter__(self) -> Run:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        if exc_type is None:
            self.finish()
        else:
            import traceback

            status = "aborted" if issubclass(exc_type, KeyboardInterrupt) else "failed"
            self.finish(status=status, error="".join(traceback.format_exception(exc_type, exc, tb)))

    def __repr__(self) -> str:
        return f"<seetrain.Run {self.project}/{self.id} name={self.name!r} status={self.status}>"


def _max_step(conn: Any) -> int | None:
    """The largest step logged so far, from the level-of-detail blocks plus each key's tail
    (rows after its last block), so resuming a run with millions of points stays instant."""
    has_blocks = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'scalar_blocks'").fetchone()
    if not has_blocks:  # a schema-1 store: no blocks yet
        return conn.execute("SELECT MAX(step) FROM scalars").fetchone()[0]
    steps = [conn.execute("SELECT MAX(step_max) FROM scalar_blocks").fetchone()[0]]
    for (key_id,) in conn.execute("SELECT id FROM metric_keys").fetchall():
        last_seq = conn.execute("SELECT COALESCE(MAX(seq_last), 0) FROM scalar_blocks WHERE key_id = ?",
                                (key_id,)).fetchone()[0]
        steps.append(conn.execute("SELECT MAX(step) FROM scalars WHERE key_id = ? AND seq > ?",
                                  (key_id, last_seq)).fetchone()[0])
    found = [s for s in steps if s is not None]
    return max(found) if found else None


def _safe_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", str(name)).strip("._")
    return name[:128] or "default"


def _revive(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: (float(v) if k == "last" and isinstance(v, str) else v) for k, v in entry.items()}


def _as_number(value: Any) -> float | None:
    """numpy/torch scalars and 1-element tensors to float; anything else to None."""
    numel = getattr(value, "numel", None)
    size = numel() if callable(numel) else getattr(value, "size", None)
    if size == 1 and hasattr(value, "item"):
        try:
            return float(value.item())
        except (TypeError, ValueError):
            return None
    if hasattr(value, "__float__") and not hasattr(value, "__len__"):
        try:
            return float(value)
        except (TypeError, ValueError):
            return None
    return None
