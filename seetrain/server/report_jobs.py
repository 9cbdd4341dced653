"""The compare report built off the request path.

Reading every point of 30 runs takes seconds; the page should not wait on one request for
it. ``start`` returns a job id at once (the same id for the same runs while the job is kept)
and builds the report in a worker thread; the page polls the job until it is ``done``.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_KEEP = 32
_FRESH_S = 2.0  # a finished job this recent answers a new start for the same runs


class ReportJobs:
    """At most two reports build at a time; the last ``_KEEP`` jobs are kept."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._by_key: dict[Hashable, str] = {}
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="seetrain-report")

    def start(self, key: Hashable, build: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
        """``{"job": id, "status": "building"|"done"|"failed"}``; a job for the same key that is
        still building (or finished within the last two seconds) is reused."""
        with self._lock:
            jid = self._by_key.get(key)
            job = self._jobs.get(jid) if jid else None
            if job is not None and (job["status"] == "building" or time.time() - job["finished_at"] < _FRESH_S):
                return {"job": jid, "status": job["status"]}
            jid = uuid.uuid4().hex
            job = {"job": jid, "status": "building", "report": None, "error": None, "finished_at": 0.0}
            self._jobs[jid] = job
            self._by_key[key] = jid
            while len(self._jobs) > _KEEP:
                old, _ = self._jobs.popitem(last=False)
                self._by_key = {k: v for k, v in self._by_key.items() if v != old}
        self._pool.submit(self._run, job, build)
        return {"job": jid, "status": "building"}

    @staticmethod
    def _run(job: dict[str, Any], build: Callable[[], dict[str, Any] | None]) -> None:
        try:
            job["report"] = build()
            job["status"] = "done"
        except Exception as exc:  # a bad run must not kill the worker: the job says what failed
            job["error"] = f"{type(exc).__name__}: {exc}"
            job["status"] = "failed"
        job["finished_at"] = time.time()

    def get(self, jid: str) -> dict[str, Any] | None:
        with self._lock:
            job = self._jobs.get(jid)
            return None if job is None else {k: v for k, v in job.items() if k != "finished_at"}
