"""Run management from the dashboard: rename, notes, tags, archive, delete.

The training process owns its store; the dashboard never writes the store's tables. A run's
edits live beside it in ``<run folder>/edits.json`` (``{"name", "notes", "tags", "archived",
"edited_at"}``, each field present only once edited), written atomically (temporary file +
rename). Readers merge the edits over the run row, and **the edit wins**: a process writes
its name and tags once, at ``init`` (or again at resume), so a later edit is what the user
meant. ``notes`` is a field of its own (the logged ``description`` stays as logged).

Deleting moves the run folder to ``<logdir>/.trash/<project>/<run id>-<unix time>`` (one
rename, recoverable by moving it back); a run whose status is ``running`` is refused (409), so
a process still writing never loses its folder.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from seetrain._run_edits import EDITABLE, EDITS_FILE, read_edits
from seetrain.server.datasource import check_name
from seetrain.server.jsonfile import write_json

TRASH_DIR = ".trash"
MAX_TEXT = 10_000


class RunningRunError(Exception):
    """Deleting a run whose process is still writing it."""


def check_changes(changes: dict[str, Any]) -> dict[str, Any]:
    """Only the editable fields with the right types (ValueError, a 400, otherwise)."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"only {', '.join(EDITABLE)} can be edited, not {', '.join(sorted(unknown))}")
    out: dict[str, Any] = {}
    if "name" in changes:
        name = changes["name"]
        if not isinstance(name, str) or not name.strip() or len(name) > 200:
            raise ValueError("name must be 1 to 200 characters")
        out["name"] = name.strip()
    if "notes" in changes:
        if not isinstance(changes["notes"], str) or len(changes["notes"]) > MAX_TEXT:
            raise ValueError(f"notes must be text of at most {MAX_TEXT} characters")
        out["notes"] = changes["notes"]
    if "tags" in changes:
        tags = changes["tags"]
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() and len(t) <= 100 for t in tags):
            raise ValueError("tags must be a list of non-empty strings")
        out["tags"] = list(dict.fromkeys(t.strip() for t in tags))
    if "archived" in changes:
        if not isinstance(changes["archived"], bool):
            raise ValueError("archived must be true or false")
        out["archived"] = changes["archived"]
    return out


def merge_edits(run: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    """``run`` (a runs()/run() item) with ``edits`` merged over it (the edit wins), plus ``notes``
    and ``archived`` (always present) and ``edited_at`` (None when never edited)."""
    merged = {**run, "notes": "", "archived": False, "edited_at": None}
    for field in EDITABLE:
        if field in edits:
            merged[field] = edits[field]
    merged["edited_at"] = edits.get("edited_at")
    return merged


class LocalRunEdits:
    """Edits of the runs under a local ``logdir`` (``<logdir>/<project>/<run id>/edits.json``)."""

    def __init__(self, logdir: str) -> None:
        self.logdir = logdir
        self._lock = threading.RLock()  # update() reads the current edits while holding it
        self._cache: dict[str, tuple[tuple[int, int], dict[str, Any]]] = {}

    def _dir(self, project: str, run_id: str) -> str:
        return os.path.join(self.logdir, check_name(project, "name"), check_name(run_id, "name"))

    def get(self, project: str, run_id: str) -> dict[str, Any]:
        path = os.path.join(self._dir(project, run_id), EDITS_FILE)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return {}
        sig = (st.st_mtime_ns, st.st_size)
        with self._lock:
            hit = self._cache.get(path)
        if hit is not None and hit[0] == sig:
            return hit[1]
        data = read_edits(os.path.dirname(path))
        with self._lock:
            self._cache[path] = (sig, data)
        return data

    def apply(self, project: str, run: dict[str, Any]) -> dict[str, Any]:
        """``run`` with its edits merged over it (:func:`merge_edits`)."""
        return merge_edits(run, self.get(project, run["id"]))

    def update(self, project: str, run_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the run's edits; KeyError when the run folder is missing."""
        clean = check_changes(changes)
        folder = self._dir(project, run_id)
        if not os.path.isdir(folder):
            raise KeyError(run_id)
        path = os.path.join(folder, EDITS_FILE)
        with self._lock:
            current = dict(self.get(project, run_id))
            current.update(clean)
            current["edited_at"] = time.time()
            write_json(path, current)
            self._cache.pop(path, None)
        return current

    def delete(self, project: str, run_id: str, status: str) -> str:
        """Move the run folder to the trash; returns the new path. RunningRunError when running."""
        if status == "running":
            raise RunningRunError(run_id)
        folder = self._dir(project, run_id)
        if not os.path.isdir(folder):
            raise KeyError(run_id)
        trash = os.path.join(self.logdir, TRASH_DIR, project)
        os.makedirs(trash, exist_ok=True)
        target = os.path.join(trash, f"{run_id}-{int(time.time())}")
        os.replace(folder, target)
        return target
