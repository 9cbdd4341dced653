"""The Run: config, step counter, status and the cheap, never-raising ``log`` hot path."""

from __future__ import annotations

import logging
import os
import pickle
import re
import secrets
import struct
import threading
import time
import warnings
from collections import Counter
from collections.abc import Mapping
from typing import Any

import orjson

from seetrain import _exit
from seetrain._config import Config, normalize_config
from seetrain._errors import InvalidValueError, RunFinishedError, RunInUseError, SeeTrainWarning
from seetrain._media import Audio, Event, Image, Media, Text
from seetrain._meta import framework_versions, git_metadata, static_metadata
from seetrain._metric_keys import MAX_KEY_LENGTH, key_problem
from seetrain._settings import Settings
from seetrain.storage.journal import CONSOLE, FIELDS, JOURNAL_DIR, PICKLED, Journal, Schema, list_segments
from seetrain.storage.recovery import acquire_lock, lock_holder, recover, release_lock
from seetrain.storage.store import DB_NAME, connect, dumps, loads, max_step
from seetrain.storage.writer import Summary, Writer

logger = logging.getLogger("seetrain")

__all__ = ["MAX_KEY_LENGTH", "Run", "FINAL_STATUSES", "new_run_id"]

FINAL_STATUSES = ("finished", "failed", "aborted")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Errors of struct.pack_into for a value that is not a plain number: the slow path decides.
_PACK_ERRORS = (struct.error, TypeError, OverflowError, ValueError)
_FAST_SCHEMAS = 4096
_time = time.time


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
        self._key_ok: dict[Any, bool] = {}
        self._fast: dict[tuple[Any, ...], Schema] = {}
        self._next_step = 0
        self._finished = False
        self._forked = False
        self._finish_lock = threading.Lock()
        self._replicator: Any = None
        self._finish_callbacks: list[Any] = []
        self._lock_fd: int | None = None
        cfg = normalize_config(config)
        # A folder that cannot be made (a file in the way, no permission) is a setting to fix, said
        # here at init; a disk that fills up later is a fault the writer rides out.
        os.makedirs(self.dir, exist_ok=True)
        self._lock_fd = acquire_lock(self.dir)
        if self._lock_fd is None and os.path.isfile(os.path.join(self.dir, "writer.lock")) \
                and os.access(self.dir, os.W_OK):
            holder = lock_holder(self.dir)
            raise RunInUseError(
                f"run {self.id!r} in {self.dir} is being written by another process"
                f"{f' (pid {holder})' if holder else ''}; two processes cannot write one run. "
                f"Use another run id, or wait for that process to finish.")
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
        journal_dir = os.path.join(self.dir, JOURNAL_DIR)
        first = max([n for n, _ in list_segments(journal_dir)] + [0]) + 1
        self._journal = Journal(journal_dir, first_number=first, on_fallback=self._journal_fallback)
        self._journal_lock = self._journal.lock
        self._metadata = static_metadata()
        self._writer = Writer(self.dir, self._journal, settings.flush_interval, self.stats,
                              self._media_warning, summary=summary, stats_snapshot=self.get_stats,
                              create_row={
                                  "id": self.id, "project": self.project, "name": self.name,
                                  "description": self.description, "tags": dumps(self.tags),
                                  "group_name": group, "status": "running", "created_at": self.created_at,
                                  "heartbeat_at": time.time(), "finished_at": None, "error": None,
                                  "pid": os.getpid(), "hostname": self._metadata["hostname"],
                                  "config": dumps(cfg), "metadata": dumps(self._metadata),
                                  "summary": summary.to_json() if summary else None})
        self._git_thread = _exit.background_thread(self._collect_git, "seetrain-git")
        self._git_thread.start()
        _exit.register(self)

    # ---- resume --------------------------------------------------------------------------
    def _load_previous(self) -> tuple[Summary | None, dict[str, Any] | None]:
        path = os.path.join(self.dir, DB_NAME)
        if not os.path.isfile(path):
            return None, None
        if self._lock_fd is not None:
            recover(self.dir, locked=True)  # a killed predecessor's journal tail goes in first
        conn = connect(path, readonly=True)
        try:
            cur = conn.execute("SELECT * FROM run")
            found = cur.fetchone()
            row = dict(zip([c[0] for c in cur.description], found)) if found else None
            top = max_step(conn)
        finally:
            conn.close()
        if top is not None:
            self._next_step = int(top) + 1
        if row is None:
            return None, None
        return Summary.from_json(row["summary"]), row

    def _collect_git(self) -> None:
        info = git_metadata()
        if info:
            self._metadata["git"] = info
            self._set_fields(metadata=dumps(self._metadata))

    # ---- the hot path --------------------------------------------------------------------
    def log(self, data: Mapping[str, Any], step: int | None = None) -> None:
        """Record metrics and media for one step. Never raises on bad data (unless ``strict``).

        Each record is in the run's journal before this returns. A key, value or step that
        cannot be stored is refused here, alone, with a counted warning."""
        if self._finished:
            self._log_after_finish()
            return
        if type(data) is not dict:
            if not isinstance(data, Mapping):
                self._warn("type", "", f"log() takes a dict, got {type(data).__name__}")
                return
            data = dict(data)
        if step is None:
            step = self._next_step
            self._next_step = step + 1
        elif type(step) is not int or not INT64_MIN <= step <= INT64_MAX:
            step = self._check_step(step)
            if step is None:
                self._refuse_points(len(data))
                return
            if step >= self._next_step:
                self._next_step = step + 1
        elif step >= self._next_step:
            self._next_step = step + 1
        keys = tuple(data)
        sch = self._fast.get(keys)
        if sch is not None:
            # Journal.append_scalars, inlined for the common case (a record that fits the current
            # segment, its schema declared there): a method call here is 10% of log().
            journal = self._journal
            lock = self._journal_lock
            lock.acquire()
            seg = journal.seg
            off = seg.end
            size = sch.size
            if sch.seg == seg.number and off + size < seg.cap:
                try:
                    sch.struct.pack_into(seg.buf, off, size, 1, sch.id, step, _time(), *data.values(), 0xA5)
                except _PACK_ERRORS:
                    seg.buf[off:off + size] = bytes(size)
                    lock.release()
                else:
                    seg.end = off + size
                    lock.release()
                    return
            else:
                lock.release()
                try:
                    journal.append_scalars(sch, step, _time(), data.values())
                except _PACK_ERRORS:
                    pass
                else:
                    return
        self._log_slow(data, step, keys)

    def log_side(self, data: Mapping[str, Any], step: int) -> None:
        """Side-channel metrics (system monitor, model watch, attention monitor): stored at
        ``step`` like ``log`` would, but the user's step counter is neither read nor moved, and a
        finished run ignores them silently (they come from background threads)."""
        if self._finished:
            return
        checked = self._check_step(step) if type(step) is not int else step
        if checked is None:
            return
        self._log_slow(dict(data), checked, None)

    def _log_slow(self, data: dict[Any, Any], step: int, keys: tuple[Any, ...] | None) -> None:
        ts = _time()
        pairs: list[tuple[str, float]] = []
        known = self._known_keys
        for key, value in data.items():
            if key not in known and not self._check_key(key):
                self._refuse_points(_count_points(value))
                continue
            t = type(value)
            if t is float:
                pairs.append((key, value))
            elif t is int:
                self._add_number(key, value, pairs)
            else:
                self._slow_value(key, value, step, ts, pairs)
        if not pairs:
            return
        names = tuple(k for k, _ in pairs)
        sch = self._journal.schema(names)
        try:
            self._journal.append_scalars(sch, step, ts, [v for _, v in pairs])
        except _PACK_ERRORS as exc:  # cannot happen for floats; never let it reach the caller
            self._refuse_points(len(pairs))
            self._warn("value", "", f"values could not be recorded: {exc}")
            return
        if keys is not None and names == keys and len(self._fast) < _FAST_SCHEMAS:
            self._fast[keys] = sch

    def _add_number(self, key: str, value: Any, pairs: list[tuple[str, float]]) -> None:
        try:
            pairs.append((key, float(value)))
        except OverflowError:
            self._refuse_points(1)
            self._warn("value", key, f"value of {key!r} is an integer too large for a float64; not recorded")

    def _check_step(self, step: Any) -> int | None:
        """An int64 step, or None (refused, counted) for anything else."""
        if isinstance(step, bool):
            as_int = None
        elif type(step) is int:
            as_int = step
        else:
            try:
                as_int = int(step)
                if as_int != step:
                    as_int = None
            except (TypeError, ValueError, OverflowError):
                as_int = None
        if as_int is None or not INT64_MIN <= as_int <= INT64_MAX:
            self._warn("step", "", f"step must be an integer in the int64 range, got {step!r}; "
                                   f"the values of this call are not recorded")
            return None
        return as_int

    def _check_key(self, key: Any) -> bool:
        """Validate a key once; later calls with the same key skip this entirely."""
        try:
            cached = self._key_ok.get(key)
        except TypeError:  # unhashable
            cached = None
        if cached is not None:
            return cached
        problem = key_problem(key)
        if problem is not None:
            self._warn("key", repr(key)[:80], f"metric key {key!r} {problem}; its values are not recorded "
                                              f"(keys: any printable text up to {MAX_KEY_LENGTH} characters)")
        ok = problem is None
        try:
            self._key_ok[key] = ok
        except TypeError:
            return ok
        if ok:
            self._known_keys.add(key)
        return ok

    def _slow_value(self, key: str, value: Any, step: int, ts: float, pairs: list[Any]) -> None:
        if isinstance(value, Media):
            self._queue_media(key, value, step, ts)
        elif isinstance(value, bool):
            pairs.append((key, float(value)))
        elif isinstance(value, (int, float)):
            self._add_number(key, value, pairs)
        elif isinstance(value, Mapping):
            for sub, v in value.items():
                sub_key = f"{key}/{sub}"
                if self._check_key(sub_key):
                    self._slow_value(sub_key, v, step, ts, pairs)
                else:
                    self._refuse_points(_count_points(v))
        elif isinstance(value, (list, tuple)) and value and all(isinstance(v, Media) for v in value):
            for v in value:
                self._queue_media(key, v, step, ts)
        elif isinstance(value, (str, bytes)):
            self._refuse_points(1)
            self._warn("value", key, f"value of {key!r} is a string; wrap text in seetrain.Text to log it")
        else:
            number = _as_number(value)
            if number is None:
                self._refuse_points(1)
                self._warn("value", key, f"value of {key!r} has unsupported type {type(value).__name__}")
            else:
                pairs.append((key, number))

    def _refuse_points(self, n: int) -> None:
        if n:
            self.stats["points_refused"] += n

    def _queue_media(self, key: str, media: Media, step: int, ts: float) -> None:
        if media.error is not None:
            self._warn("media", key, f"{key!r}: {media.error}")
            return
        try:
            payload = pickle.dumps((step, ts, key, media), protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # noqa: BLE001 - e.g. an event payload holding a live object
            if isinstance(media, Event):
                media = Event(media.kind, loads(dumps(media.payload)))
                payload = pickle.dumps((step, ts, key, media), protocol=pickle.HIGHEST_PROTOCOL)
            else:
                self._warn("media", key, f"{key!r}: cannot record {media.kind}: {exc}")
                return
        self._journal.append(PICKLED, payload)
        self.stats["media_logged"] += 1

    def _log_after_finish(self) -> None:
        if self._forked:
            self._warn("fork", "", f"log() in a forked child process is not recorded; log from "
                                   f"the process that called seetrain.init (pid {self._metadata['pid']})")
        else:
            self._warn("finished", "", f"run {self.id} is finished; log() ignored", RunFinishedError)

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
        if use_step is None:
            return
        self._queue_media(key or kind, Event(kind, payload), use_step, time.time())

    def log_console(self, stream: str, line: str, ts: float | None = None) -> None:
        if self._finished:
            return
        try:
            body = orjson.dumps([ts or time.time(), stream, line])
        except TypeError:  # lone surrogates (surrogateescape output): keep them visible as escapes
            line = str(line).encode("utf-8", "backslashreplace").decode("utf-8")
            body = orjson.dumps([ts or time.time(), str(stream), line])
        self._journal.append(CONSOLE, body)

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
        self._set_fields(metadata=dumps(self._metadata))

    def set_name(self, name: str) -> None:
        """Rename the run (adapters use the framework's own run name when it becomes known)."""
        self.name = str(name)
        self._set_fields(name=self.name)

    def add_tags(self, *tags: str) -> None:
        self.tags.extend(str(t) for t in tags if str(t) not in self.tags)
        self._set_fields(tags=dumps(self.tags))

    def _set_fields(self, **fields: Any) -> None:
        """Run-row fields go through the journal too, in order with the points."""
        if not self._forked:
            self._journal.append(FIELDS, orjson.dumps(fields))
            self._writer.wake()

    def start_upload(self, upload_timeout: float | None = None, transport: Any = None, target: str | None = None,
                     start: bool = True, **options: Any) -> Any:
        """Replicate this run to a tracking server (``init(mode="online")`` calls this): a
        background thread sends what the local store holds; ``finish()`` waits up to
        ``upload_timeout`` for it and reports what was sent and what stays local. ``transport``,
        ``target`` and ``options`` (``interval``, ``batch_size``, ``max_batch_attempts``)
        override the settings. Returns the replicator (started unless ``start=False``)."""
        from seetrain.sync.replicator import make_replicator

        self._replicator = make_replicator(self, upload_timeout, transport, target, **options)
        return self._replicator.start() if start else self._replicator

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every record logged so far is in the store (False on timeout)."""
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
        """What the run knows about itself: points logged (accepted at the call), written to the
        store, pending (accepted, not yet stored) and refused; write errors; warnings."""
        written, pending = self._writer.counts()
        return {**self.stats, "points_logged": written + pending, "points_written": written,
                "points_pending": pending, "points_refused": self.stats["points_refused"],
                "write_errors": self.stats["write_errors"], "warnings": dict(self.warning_counts),
                "queued": pending,
                "journal": "memory" if self._journal.fallback_reason else "disk"}

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

    def _journal_fallback(self, reason: str) -> None:
        self.stats["journal_fallbacks"] += 1
        logger.warning("seetrain: the journal of run %s cannot grow on disk at %s (%s); new records are kept "
                       "in memory until the store takes them (a SIGKILL now would lose them)",
                       self.id, os.path.join(self.dir, JOURNAL_DIR), reason)

    def _on_config_change(self, data: dict[str, Any]) -> None:
        self._set_fields(config=dumps(data))

    # ---- end of the run ----------------------------------------------------------------------
    def finish(self, status: str = "finished", error: str | None = None, timeout: float | None = None) -> None:
        """Flush everything and close the run. Idempotent; never raises."""
        with self._finish_lock:
            if self._finished:
                return
            for callback in self._finish_callbacks:
                try:
                    callback(self)
                except Exception:  # noqa: BLE001
                    logger.exception("seetrain: a finish callback failed")
            self._finished = True
            try:
                self._close(status, error)
            except Exception:  # noqa: BLE001 - finish() must never raise into user code
                logger.exception("seetrain: closing run %s failed", self.id)
            if self._replicator is not None:
                try:
                    self._replicator.finish(timeout)
                except Exception:  # noqa: BLE001
                    logger.exception("seetrain: finishing the upload of run %s failed", self.id)
            _exit.unregister(self)

    def _close(self, status: str, error: str | None) -> None:
        self._git_thread.join(5.0)  # a very short run must still record its commit
        self.status = status if status in FINAL_STATUSES else "finished"
        end = time.time()
        self._metadata["frameworks"] = {**self._metadata.get("frameworks", {}), **framework_versions()}
        self._metadata["duration"] = end - self.created_at
        final: dict[str, Any] = {"status": self.status, "finished_at": end, "metadata": dumps(self._metadata)}
        if error:
            final["error"] = error
        self._journal.append(FIELDS, orjson.dumps(final))
        emptied = self._writer.close(timeout=self.settings.finish_timeout)
        if not emptied:
            pending = self._writer.pending_points()
            if self._journal.fallback_reason is None:
                logger.warning(
                    "seetrain: run %s finished with %d points not yet in its store (%s); they are kept in "
                    "the journal at %s and moved into the store by the next `seetrain status`, `seetrain ui`, "
                    "`seetrain sync`, seetrain.Api() or init(resume=%r)", self.id, pending,
                    self._writer.error or "store not writable", os.path.join(self.dir, JOURNAL_DIR), self.id)
            else:
                logger.error("seetrain: run %s finished with %d points that could not be written anywhere (%s); "
                             "they are lost when this process exits", self.id, pending, self._writer.error)
        release_lock(self._lock_fd)
        self._lock_fd = None

    def _detach_after_fork(self) -> None:
        # Called in a forked child: the writer thread does not exist here and the store's
        # connection and the journal's mappings belong to the parent, so the child's copy of
        # the run only says no.
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


def _count_points(value: Any) -> int:
    """How many points a refused value would have been (a nested dict counts its leaves)."""
    if isinstance(value, Mapping):
        return sum(_count_points(v) for v in value.values())
    return 0 if isinstance(value, Media) else 1


def _safe_name(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "_", str(name)).strip("._")
    return name[:128] or "default"


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
