"""The registry of one project's artifacts: a small SQLite database (WAL) beside the blobs.

``<logdir>/<project>/_artifacts/registry.sqlite`` holds names, versions, their files, aliases
and lineage (which run made a version, which runs used it); ``objects/`` holds the bytes
(:mod:`seetrain.artifacts.blobs`). It is separate from each run's ``run.sqlite`` because a
version outlives the run that made it and is shared by every run of the project.

Every write is one ``BEGIN IMMEDIATE`` transaction: two processes committing versions of one
name at once are serialised by SQLite and get distinct version numbers. Committed versions are
never updated (their files and metadata are fixed); only aliases move.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from seetrain.artifacts.blobs import BlobStore
from seetrain.artifacts.errors import ArtifactError, ArtifactNotFoundError
from seetrain.artifacts.manifest import LATEST, ArtifactFile, Ref, digest_of

DB_NAME = "registry.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS artifacts (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, type TEXT NOT NULL,
    next_version INTEGER NOT NULL DEFAULT 0, created_at REAL NOT NULL);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY, artifact_id INTEGER NOT NULL, version INTEGER NOT NULL,
    digest TEXT NOT NULL, size INTEGER NOT NULL, file_count INTEGER NOT NULL,
    metadata TEXT, description TEXT, created_by TEXT, created_at REAL NOT NULL,
    UNIQUE (artifact_id, version));
CREATE INDEX IF NOT EXISTS versions_digest ON versions (artifact_id, digest);
CREATE TABLE IF NOT EXISTS files (
    version_id INTEGER NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL,
    PRIMARY KEY (version_id, path)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);
CREATE TABLE IF NOT EXISTS aliases (
    artifact_id INTEGER NOT NULL, alias TEXT NOT NULL, version_id INTEGER NOT NULL,
    PRIMARY KEY (artifact_id, alias)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage (
    version_id INTEGER NOT NULL, run_id TEXT NOT NULL, used_at REAL NOT NULL,
    PRIMARY KEY (version_id, run_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS remote_sync (
    target TEXT NOT NULL, kind TEXT NOT NULL, local_id TEXT NOT NULL, remote TEXT, synced_at REAL NOT NULL,
    PRIMARY KEY (target, kind, local_id)) WITHOUT ROWID;
"""
_MAX_COMMIT_TRIES = 5
_BLOB_BACKENDS: dict[str, Callable[[str, str], BlobStore]] = {}


def register_blob_backend(logdir: str, factory: Callable[[str, str], BlobStore]) -> None:
    """Registries under ``logdir`` get their blob store from ``factory(local folder, project)``
    (a :class:`BlobStore` subclass; the local folder is its cache)."""
    _BLOB_BACKENDS[os.path.abspath(logdir)] = factory


class MissingBlobs(Exception):
    """A blob a commit counted on was removed by a concurrent garbage collection."""

    def __init__(self, digests: list[str]) -> None:
        super().__init__(f"{len(digests)} blob(s) vanished before commit")
        self.digests = digests


@dataclass
class VersionRow:
    id: int
    artifact_id: int
    name: str
    type: str
    version: int
    digest: str
    size: int
    file_count: int
    metadata: dict[str, Any]
    description: str
    created_by: str | None
    created_at: float


@dataclass
class Deleted:
    freed_blobs: int
    freed_bytes: int


_VERSION_SELECT = ("SELECT v.id, v.artifact_id, a.name, a.type, v.version, v.digest, v.size, v.file_count, "
                   "v.metadata, v.description, v.created_by, v.created_at FROM versions v "
                   "JOIN artifacts a ON a.id = v.artifact_id")


def _row(row: tuple[Any, ...]) -> VersionRow:
    values = list(row)
    values[8] = json.loads(values[8]) if values[8] else {}
    values[9] = values[9] or ""
    return VersionRow(*values)


class Registry:
    """One project's artifact store: ``root`` is ``<logdir>/<project>/_artifacts``."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.db_path = os.path.join(root, DB_NAME)
        folder = os.path.join(root, "objects", "sha256")
        # A logdir may keep its bytes elsewhere (the tracking server on S3: see register_blob_backend).
        logdir = os.path.dirname(os.path.dirname(os.path.abspath(root)))
        project = os.path.basename(os.path.dirname(os.path.abspath(root)))
        factory = _BLOB_BACKENDS.get(logdir)
        self.blobs: BlobStore = factory(folder, project) if factory is not None else BlobStore(folder)

    @property
    def exists(self) -> bool:
        return os.path.isfile(self.db_path)

    # ---- connections -----------------------------------------------------------------------
    @contextmanager
    def reader(self) -> Iterator[sqlite3.Connection | None]:
        """A read-only connection, or None when nothing was ever logged here."""
        if not self.exists:
            yield None
            return
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=30)
        conn.execute("PRAGMA busy_timeout=30000")
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def writer(self) -> Iterator[sqlite3.Connection]:
        """A connection inside ``BEGIN IMMEDIATE``: committed on success, rolled back on error."""
        os.makedirs(self.root, exist_ok=True)
        conn = sqlite3.connect(self.db_path, timeout=60, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout=60000")
            if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    # ---- writes ----------------------------------------------------------------------------
    def commit(self, name: str, type_: str, files: list[ArtifactFile], *, aliases: list[str],
               metadata: dict[str, Any], description: str, created_by: str | None,
               restore: Any = None) -> tuple[VersionRow, bool]:
        """Commit a version (or find the existing one with the same files) and move aliases.

        Returns ``(version, created)``. ``restore(digests)`` re-stores blobs that a concurrent
        garbage collection removed between hashing and this commit.
        """
        digest = digest_of(files)
        meta_json = json.dumps(metadata, default=str)
        for _ in range(_MAX_COMMIT_TRIES):
            try:
                return self._commit_once(name, type_, files, digest, aliases, meta_json, description, created_by)
            except MissingBlobs as missing:
                if restore is None:
                    raise ArtifactError(str(missing)) from None
                restore(missing.digests)
        raise ArtifactError(f"could not commit {name!r}: its blobs kept being collected")

    def _commit_once(self, name: str, type_: str, files: list[ArtifactFile], digest: str, aliases: list[str],
                     meta_json: str, description: str, created_by: str | None) -> tuple[VersionRow, bool]:
        with self.writer() as conn:
            # Checked under the write lock: a garbage collection (also under it) cannot remove
            # one of these blobs between this check and the commit.
            missing = sorted({f.sha256 for f in files if not self.blobs.has(f.sha256)})
            if missing:
                raise MissingBlobs(missing)
            now = time.time()
            found = conn.execute("SELECT id, type FROM artifacts WHERE name = ?", (name,)).fetchone()
            if found is None:
                artifact_id = conn.execute("INSERT INTO artifacts (name, type, created_at) VALUES (?, ?, ?)",
                                           (name, type_, now)).lastrowid
            else:
                artifact_id, existing_type = found
                if existing_type != type_:
                    raise ArtifactError(f"artifact {name!r} has type {existing_type!r}, not {type_!r}")
            same = conn.execute("SELECT id FROM versions WHERE artifact_id = ? AND digest = ? "
                                "ORDER BY version DESC LIMIT 1", (artifact_id, digest)).fetchone()
            created = same is None
            if created:
                number = conn.execute("SELECT next_version FROM artifacts WHERE id = ?",
                                      (artifact_id,)).fetchone()[0]
                conn.execute("UPDATE artifacts SET next_version = ? WHERE id = ?", (number + 1, artifact_id))
                version_id = conn.execute(
                    "INSERT INTO versions (artifact_id, version, digest, size, file_count, metadata, description, "
                    "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (artifact_id, number, digest, sum(f.size for f in files), len(files), meta_json,
                     description, created_by, now)).lastrowid
                conn.executemany("INSERT INTO files (version_id, path, size, sha256) VALUES (?, ?, ?, ?)",
                                 [(version_id, f.path, f.size, f.sha256) for f in files])
                aliases = [LATEST, *[a for a in aliases if a != LATEST]]
            else:
                version_id = same[0]
            conn.executemany("INSERT OR REPLACE INTO aliases (artifact_id, alias, version_id) VALUES (?, ?, ?)",
                             [(artifact_id, a, version_id) for a in aliases])
            row = conn.execute(_VERSION_SELECT + " WHERE v.id = ?", (version_id,)).fetchone()
        return _row(row), created

    def set_aliases(self, name: str, version: int, aliases: list[str]) -> None:
        """Point ``aliases`` at an existing version (moving them off any other)."""
        with self.writer() as conn:
            row = self._find(conn, Ref(None, name, f"v{version}"))
            conn.executemany("INSERT OR REPLACE INTO aliases (artifact_id, alias, version_id) VALUES (?, ?, ?)",
                             [(row.artifact_id, a, row.id) for a in aliases])

    def record_use(self, version_id: int, run_id: str) -> None:
        with self.writer() as conn:
            conn.execute("INSERT OR IGNORE INTO usage (version_id, run_id, used_at) VALUES (?, ?, ?)",
                         (version_id, run_id, time.time()))

    def delete(self, ref: Ref, force: bool = False) -> Deleted:
        """Delete one version; free the blobs no remaining version references.

        A version holding an alias other than ``latest`` is kept unless ``force``. ``latest``
        moves to the newest remaining version; an artifact left with no versions is removed.
        """
        with self.writer() as conn:
            row = self._find(conn, ref)
            held = [a for (a,) in conn.execute("SELECT alias FROM aliases WHERE version_id = ?", (row.id,))]
            if set(held) - {LATEST} and not force:
                raise ArtifactError(f"{row.name}:v{row.version} has aliases {sorted(set(held) - {LATEST})}; "
                                    f"use force to delete it anyway")
            digests = [d for (d,) in conn.execute("SELECT DISTINCT sha256 FROM files WHERE version_id = ?",
                                                  (row.id,))]
            for table in ("files", "aliases", "usage"):
                conn.execute(f"DELETE FROM {table} WHERE version_id = ?", (row.id,))  # noqa: S608
            conn.execute("DELETE FROM versions WHERE id = ?", (row.id,))
            newest = conn.execute("SELECT id FROM versions WHERE artifact_id = ? ORDER BY version DESC LIMIT 1",
                                  (row.artifact_id,)).fetchone()
            if newest is None:
                conn.execute("DELETE FROM artifacts WHERE id = ?", (row.artifact_id,))
            elif LATEST in held:
                conn.execute("INSERT OR REPLACE INTO aliases (artifact_id, alias, version_id) VALUES (?, ?, ?)",
                             (row.artifact_id, LATEST, newest[0]))
            freed = Deleted(0, 0)
            # Blobs go while the write lock is held: a concurrent commit re-checks its blobs
            # under the same lock (see _commit_once), so it never commits a removed blob.
            for digest in digests:
                if conn.execute("SELECT 1 FROM files WHERE sha256 = ? LIMIT 1", (digest,)).fetchone() is None:
                    freed.freed_bytes += self.blobs.remove(digest)
                    freed.freed_blobs += 1
        return freed

    def collect_garbage(self, temporaries_older_than: float = 3600.0) -> Deleted:
        """Remove blobs no version references (left by a process killed before its commit)
        and old temporary files."""
        freed = Deleted(0, 0)
        if not self.exists:
            return freed
        with self.writer() as conn:
            referenced = {d for (d,) in conn.execute("SELECT DISTINCT sha256 FROM files")}
            for digest in list(self.blobs.iter_digests()):
                if digest not in referenced:
                    freed.freed_bytes += self.blobs.remove(digest)
                    freed.freed_blobs += 1
        for path in self.blobs.stale_temporaries(temporaries_older_than):
            try:
                freed.freed_bytes += os.path.getsize(path)
                os.unlink(path)
                freed.freed_blobs += 1
            except OSError:
                pass
        return freed

    # ---- reads -----------------------------------------------------------------------------
    def _find(self, conn: sqlite3.Connection, ref: Ref) -> VersionRow:
        number = ref.version_number
        if number is not None:
            row = conn.execute(_VERSION_SELECT + " WHERE a.name = ? AND v.version = ?", (ref.name, number)).fetchone()
        else:
            row = conn.execute(_VERSION_SELECT + " JOIN aliases al ON al.version_id = v.id "
                               "WHERE a.name = ? AND al.alias = ?", (ref.name, ref.alias)).fetchone()
        if row is None:
            raise ArtifactNotFoundError(f"no artifact {ref.name}:{ref.alias} in {self.root}")
        return _row(row)

    def find_by_digest(self, name: str, digest: str) -> VersionRow:
        with self.reader() as conn:
            row = None if conn is None else conn.execute(
                _VERSION_SELECT + " WHERE a.name = ? AND v.digest = ? ORDER BY v.version DESC LIMIT 1",
                (name, digest)).fetchone()
        if row is None:
            raise ArtifactNotFoundError(f"no version of {name!r} with digest {digest}")
        return _row(row)

    # ---- what was sent where (client side of ``seetrain sync``) ---------------------------------
    def synced(self, target: str, kind: str) -> dict[str, str | None]:
        """``local_id -> remote`` of what ``target`` already acknowledged."""
        with self.reader() as conn:
            if conn is None:
                return {}
            try:
                rows = conn.execute("SELECT local_id, remote FROM remote_sync WHERE target = ? AND kind = ?",
                                    (target, kind)).fetchall()
            except sqlite3.OperationalError:  # a registry written before the table existed
                return {}
        return dict(rows)

    def mark_synced(self, target: str, kind: str, local_id: str, remote: str | None = None) -> None:
        with self.writer() as conn:
            conn.execute("INSERT OR REPLACE INTO remote_sync (target, kind, local_id, remote, synced_at) "
                         "VALUES (?, ?, ?, ?, ?)", (target, kind, local_id, remote, time.time()))

    def find(self, ref: Ref) -> VersionRow:
        with self.reader() as conn:
            if conn is None:
                raise ArtifactNotFoundError(f"no artifact {ref.name}:{ref.alias}: nothing logged in {self.root}")
            return self._find(conn, ref)

    def details(self, version_id: int) -> tuple[list[str], list[ArtifactFile], list[dict[str, Any]]]:
        """Aliases, files and users (``{"run_id", "used_at"}``) of one version."""
        with self.reader() as conn:
            if conn is None:
                return [], [], []
            aliases = [a for (a,) in conn.execute("SELECT alias FROM aliases WHERE version_id = ? ORDER BY alias",
                                                  (version_id,))]
            files = [ArtifactFile(*r) for r in conn.execute(
                "SELECT path, size, sha256 FROM files WHERE version_id = ? ORDER BY path", (version_id,))]
            users = [{"run_id": r, "used_at": t} for r, t in conn.execute(
                "SELECT run_id, used_at FROM usage WHERE version_id = ? ORDER BY used_at", (version_id,))]
        return aliases, files, users

    def versions(self, name: str | None = None) -> list[VersionRow]:
        with self.reader() as conn:
            if conn is None:
                return []
            if name is None:
                rows = conn.execute(_VERSION_SELECT + " ORDER BY a.name, v.version").fetchall()
            else:
                rows = conn.execute(_VERSION_SELECT + " WHERE a.name = ? ORDER BY v.version", (name,)).fetchall()
        return [_row(r) for r in rows]

    def aliases(self) -> dict[int, list[str]]:
        """version id -> its aliases, for every version."""
        out: dict[int, list[str]] = {}
        with self.reader() as conn:
            if conn is None:
                return out
            for vid, alias in conn.execute("SELECT version_id, alias FROM aliases ORDER BY alias"):
                out.setdefault(vid, []).append(alias)
        return out

    def versions_by_run(self, run_id: str) -> tuple[list[VersionRow], list[VersionRow]]:
        """The versions a run created and the versions it used."""
        with self.reader() as conn:
            if conn is None:
                return [], []
            made = conn.execute(_VERSION_SELECT + " WHERE v.created_by = ? ORDER BY v.created_at",
                                (run_id,)).fetchall()
            used = conn.execute(_VERSION_SELECT + " JOIN usage u ON u.version_id = v.id WHERE u.run_id = ? "
                                "ORDER BY u.used_at", (run_id,)).fetchall()
        return [_row(r) for r in made], [_row(r) for r in used]

    def stored_bytes(self) -> int:
        """Bytes on disk for this project's blobs (each distinct content counted once)."""
        with self.reader() as conn:
            if conn is None:
                return 0
            return int(conn.execute("SELECT COALESCE(SUM(size), 0) FROM "
                                    "(SELECT sha256, MAX(size) AS size FROM files GROUP BY sha256)").fetchone()[0])
