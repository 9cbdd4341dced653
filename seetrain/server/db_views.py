"""Saved views, panel layouts and run edits on the tracking server (tables in its database).

The same contract as the local files (:class:`seetrain.server.views.JsonViewStore`,
:class:`seetrain.server.run_edit.LocalRunEdits`): several ``seetrain server`` replicas on one
PostgreSQL share them, and every write is one transaction. Edits win over what the run logged,
as locally. Deleting a run on the server removes its rows (points, media records, console,
batches) in one transaction; its media files stay in the media store.
"""

from __future__ import annotations

import time
from typing import Any

import orjson
from sqlalchemy import and_, delete, select

from seetrain.server.db import Database, project_views, run_edits, runs
from seetrain.server.run_edit import RunningRunError, check_changes, merge_edits
from seetrain.server.views import check_view

_LAYOUT = ""  # the row name of a project's layout


class DbViewStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _check_project(self, conn: Any, project: str) -> None:
        if conn.execute(select(runs.c.pk).where(runs.c.project == project).limit(1)).first() is None:
            raise KeyError(project)

    def _put(self, project: str, name: str, state: dict[str, Any]) -> float:
        now = time.time()
        body = orjson.dumps(state).decode()
        with self.db.write_engine.begin() as conn:
            self._check_project(conn, project)
            key = and_(project_views.c.project == project, project_views.c.name == name)
            if conn.execute(select(project_views.c.name).where(key)).first() is None:
                conn.execute(project_views.insert().values(project=project, name=name, state=body, saved_at=now))
            else:
                conn.execute(project_views.update().where(key).values(state=body, saved_at=now))
        return now

    def list(self, project: str) -> list[dict[str, Any]]:
        with self.db.engine.connect() as conn:
            self._check_project(conn, project)
            rows = conn.execute(select(project_views.c.name, project_views.c.state, project_views.c.saved_at)
                                .where(project_views.c.project == project, project_views.c.name != _LAYOUT)
                                .order_by(project_views.c.name)).all()
        return [{"name": n, "state": orjson.loads(st), "saved_at": at} for n, st, at in rows]

    def save(self, project: str, name: str, state: dict[str, Any]) -> dict[str, Any]:
        check_view(name, state)
        if name == _LAYOUT:
            raise ValueError("a view needs a name")
        return {"name": name, "state": state, "saved_at": self._put(project, name, state)}

    def delete(self, project: str, name: str) -> bool:
        with self.db.write_engine.begin() as conn:
            self._check_project(conn, project)
            gone = conn.execute(delete(project_views).where(project_views.c.project == project,
                                                            project_views.c.name == name,
                                                            # SQLAlchemy coerces a Python bool to true()/false()
                                                            name != _LAYOUT))  # type: ignore[arg-type]
        return bool(gone.rowcount)

    def layout(self, project: str) -> dict[str, Any] | None:
        with self.db.engine.connect() as conn:
            self._check_project(conn, project)
            row = conn.execute(select(project_views.c.state).where(
                project_views.c.project == project, project_views.c.name == _LAYOUT)).first()
        return None if row is None else orjson.loads(row[0])

    def save_layout(self, project: str, layout: dict[str, Any]) -> dict[str, Any]:
        check_view("layout", layout)
        self._put(project, _LAYOUT, layout)
        return layout


class DbRunEdits:
    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, project: str, run_id: str) -> dict[str, Any]:
        with self.db.engine.connect() as conn:
            row = conn.execute(select(run_edits.c.edits).where(run_edits.c.project == project,
                                                               run_edits.c.run_id == run_id)).first()
        return {} if row is None else orjson.loads(row[0])

    def apply(self, project: str, run: dict[str, Any]) -> dict[str, Any]:
        return merge_edits(run, self.get(project, run["id"]))

    def update(self, project: str, run_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        clean = check_changes(changes)
        with self.db.write_engine.begin() as conn:
            exists = conn.execute(select(runs.c.pk).where(runs.c.project == project,
                                                          runs.c.run_id == run_id)).first()
            if exists is None:
                raise KeyError(run_id)
            key = and_(run_edits.c.project == project, run_edits.c.run_id == run_id)
            row = conn.execute(select(run_edits.c.edits).where(key)).first()
            current = {} if row is None else orjson.loads(row[0])
            current.update(clean)
            current["edited_at"] = time.time()
            body = orjson.dumps(current).decode()
            if row is None:
                conn.execute(run_edits.insert().values(project=project, run_id=run_id, edits=body))
            else:
                conn.execute(run_edits.update().where(key).values(edits=body))
        return current

    def delete(self, project: str, run_id: str, status: str) -> str:
        if status == "running":
            raise RunningRunError(run_id)
        with self.db.write_engine.begin() as conn:
            gone = conn.execute(delete(runs).where(runs.c.project == project, runs.c.run_id == run_id))
            conn.execute(delete(run_edits).where(run_edits.c.project == project, run_edits.c.run_id == run_id))
        if not gone.rowcount:
            raise KeyError(run_id)
        with self.db._lock:
            self.db._run_pks.pop((project, run_id), None)
        return "deleted from the server database"
