"""Saved views and the panel layout of a project, stored with the project.

A view is a named dashboard state (the URL state: filter, sort, columns, selection, grouping,
smoothing, x axis, zoom, panels) kept as an opaque JSON object; the layout is the project's
custom panels (which metrics, x axis, size, order, pins). For a local logdir both live in one
JSON file in the project folder, ``<logdir>/<project>/_views.json``
(``{"views": {name: {"state": {...}, "saved_at": unix time}}, "layout": {...} | null}``),
rewritten atomically (temporary file + rename) under a lock, so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any, Protocol

from seetrain.server.datasource import check_name
from seetrain.server.jsonfile import write_json

VIEWS_FILE = "_views.json"
MAX_NAME = 100
MAX_STATE_BYTES = 256 * 1024


class ViewStore(Protocol):
    """Where a data source keeps saved views and layouts (the app only calls these)."""

    def list(self, project: str) -> list[dict[str, Any]]: ...
    def save(self, project: str, name: str, state: dict[str, Any]) -> dict[str, Any]: ...
    def delete(self, project: str, name: str) -> bool: ...
    def layout(self, project: str) -> dict[str, Any] | None: ...
    def save_layout(self, project: str, layout: dict[str, Any]) -> dict[str, Any]: ...


def check_view(name: str, state: Any) -> None:
    """A ValueError (400) for an empty or long name or a state that is not a small JSON object."""
    if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
        raise ValueError(f"a view name is 1 to {MAX_NAME} characters")
    if not isinstance(state, dict):
        raise ValueError("a view's state is a JSON object")
    if len(json.dumps(state)) > MAX_STATE_BYTES:
        raise ValueError(f"a view's state is at most {MAX_STATE_BYTES} bytes of JSON")


class JsonViewStore:
    """Views and layouts of the projects under a local ``logdir`` (one JSON file per project)."""

    def __init__(self, logdir: str) -> None:
        self.logdir = logdir
        self._lock = threading.Lock()

    def _path(self, project: str) -> str:
        folder = os.path.join(self.logdir, check_name(project, "project"))
        if not os.path.isdir(folder):
            raise KeyError(project)
        return os.path.join(folder, VIEWS_FILE)

    def _read(self, path: str) -> dict[str, Any]:
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except FileNotFoundError:
            return {"views": {}, "layout": None}
        except (OSError, ValueError):
            return {"views": {}, "layout": None}  # unreadable: start over rather than fail the page
        if not isinstance(data, dict) or not isinstance(data.get("views"), dict):
            return {"views": {}, "layout": None}
        return data

    def list(self, project: str) -> list[dict[str, Any]]:
        data = self._read(self._path(project))
        return [{"name": n, **v} for n, v in sorted(data["views"].items())]

    def save(self, project: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
        check_view(name, state)
        path = self._path(project)
        with self._lock:
            data = self._read(path)
            data["views"][name] = {"state": state, "saved_at": time.time()}
            write_json(path, data)
        return {"name": name, **data["views"][name]}

    def delete(self, project: str, name: str) -> bool:
        path = self._path(project)
        with self._lock:
            data = self._read(path)
            if data["views"].pop(name, None) is None:
                return False
            write_json(path, data)
        return True

    def layout(self, project: str) -> dict[str, Any] | None:
        return self._read(self._path(project)).get("layout")

    def save_layout(self, project: str, layout: dict[str, Any]) -> dict[str, Any]:
        check_view("layout", layout)
        path = self._path(project)
        with self._lock:
            data = self._read(path)
            data["layout"] = layout
            write_json(path, data)
        return layout
