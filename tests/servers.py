"""Helpers for the tracking-server tests: a throwaway PostgreSQL, ``seetrain server``
processes, and a scripted HTTP server that answers 500/429/slow/dropped on demand.

PostgreSQL: ``SEETRAIN_TEST_PG_URL`` wins when set; otherwise a server is started from
``/usr/lib/postgresql/*/bin`` (initdb into a tmp dir, 127.0.0.1 on a free port, unix socket
in the tmp dir). PostgreSQL refuses to run as root, so as root initdb/postgres run as the
``postgres`` system user (created with useradd if missing). Without binaries the tests skip
with the reason, except under CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
PG_USER = "postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---- PostgreSQL -------------------------------------------------------------------------------
def find_pg_bin() -> str | None:
    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if os.path.isfile(os.path.join(path, "initdb")) and os.path.isfile(os.path.join(path, "pg_ctl")):
            return path
    found = shutil.which("pg_ctl")
    return os.path.dirname(found) if found and shutil.which("initdb") else None


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"PostgreSQL is required under CI: {reason}")
    pytest.skip(reason)


def _service_user() -> str | None:
    """None when not root (run directly); else a non-root user postgres will accept."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                       check=True, capture_output=True)
    return PG_USER


class PostgresServer:
    """A private PostgreSQL cluster in a tmp dir, stopped (and deleted) by :meth:`stop`."""

    def __init__(self, bin_dir: str) -> None:
        self.bin_dir = bin_dir
        self.user = _service_user()
        self.base = tempfile.mkdtemp(prefix="seetrain-pg-")
        self.data = os.path.join(self.base, "data")
        self.port = free_port()
        if self.user:
            info = pwd.getpwnam(self.user)
            os.chown(self.base, info.pw_uid, info.pw_gid)

    def _cmd(self, *args: str) -> list[str]:
        cmd = list(args)
        if self.user:
            runuser = shutil.which("runuser")
            cmd = [runuser, "-u", self.user, "--", *cmd] if runuser else ["su", self.user, "-s", "/bin/sh",
                                                                          "-c", " ".join(cmd)]
        return cmd

    def start(self) -> PostgresServer:
        bin_ = self.bin_dir
        init = subprocess.run(self._cmd(f"{bin_}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                                        "-E", "UTF8", "--no-sync"), capture_output=True, text=True, timeout=120)
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr[-2000:]}")
        opts = f"-h 127.0.0.1 -p {self.port} -k {self.base} -F -c max_connections=200"
        start = subprocess.run(self._cmd(f"{bin_}/pg_ctl", "-D", self.data, "-l", os.path.join(self.base, "log"),
                                         "-w", "-t", "60", "-o", opts, "start"),
                               capture_output=True, text=True, timeout=90)
        if start.returncode != 0:
            log = Path(self.base, "log").read_text(errors="replace") if Path(self.base, "log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {start.stderr[-2000:]}\n{log[-2000:]}")
        return self

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        subprocess.run(self._cmd(f"{self.bin_dir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"),
                       capture_output=True, timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)


def admin_execute(url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement)  # statements here are fixed test DDL, no user input


@contextlib.contextmanager
def postgres_base_url() -> Iterator[str]:
    """A PostgreSQL URL for the session: SEETRAIN_TEST_PG_URL, or a throwaway local cluster."""
    pytest.importorskip("psycopg")
    given = os.environ.get("SEETRAIN_TEST_PG_URL")
    if given:
        yield given
        return
    bin_dir = find_pg_bin()
    if bin_dir is None:
        _unavailable("no PostgreSQL binaries (/usr/lib/postgresql/*/bin) and SEETRAIN_TEST_PG_URL is not set")
    server = PostgresServer(bin_dir)
    try:
        server.start()
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        server.stop()
        _unavailable(f"could not start PostgreSQL from {bin_dir}: {exc}")
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """A new empty database on the server of ``base_url`` (dropped afterwards)."""
    name = "seetrain_" + secrets.token_hex(4)
    admin_execute(base_url, f'CREATE DATABASE "{name}"')
    head, _, _ = base_url.rpartition("/")
    try:
        yield f"{head}/{name}"
    finally:
        with contextlib.suppress(Exception):
            admin_execute(base_url, f'DROP DATABASE "{name}" WITH (FORCE)')


# ---- seetrain server processes ----------------------------------------------------------------
class ServerProcess:
    """``seetrain server`` in a subprocess on 127.0.0.1; kill -9 and restart keep the port."""

    def __init__(self, db: str, media_dir: str | Path, *, token: str | None = None, port: int | None = None,
                 args: tuple[str, ...] = (), log_path: str | Path | None = None) -> None:
        self.db = db
        self.media_dir = str(media_dir)
        self.token = token
        self.port = port or free_port()
        self.args = args
        self.log_path = str(log_path or Path(self.media_dir).parent / f"server-{self.port}.log")
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "seetrain.cli", "server", "--db", self.db, "--media-dir", self.media_dir,
               "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        if self.token:
            cmd += ["--token", self.token]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("SEETRAIN_SERVER_TOKEN", None)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(ROOT))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/api/v1/health", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server did not come up in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-4000:]
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()

    def get(self, path: str, **kw: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.get(self.url + path, headers=headers, timeout=10.0, **kw)


def chunk_points(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The metric points of an ingest batch body, from its packed chunks and JSON records."""
    from seetrain.sync.transport.base import Batch
    from seetrain.sync.transport.memory import points_of

    batch = Batch(doc.get("batch_id", ""), doc.get("project", ""), doc.get("run_id", ""),
                  chunks=doc.get("chunks") or [])
    return [*(doc.get("scalars") or []), *points_of(batch)]


# ---- a scripted HTTP server for breaker/retry tests -------------------------------------------
class ScriptedServer:
    """Answers each request with the next scripted action, then with ``default``.

    Actions: ``("status", code, headers)``, ``("slow", seconds)`` (then 200), ``("drop",)``
    (close the connection without answering). 200 answers look like the ingest API's.
    """

    def __init__(self, default: tuple[Any, ...] = ("status", 200, {})) -> None:
        self.script: list[tuple[Any, ...]] = []
        self.default = default
        self.requests: list[tuple[str, str, bytes]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                with outer.lock:
                    outer.requests.append((self.command, self.path, body))
                    action = outer.script.pop(0) if outer.script else outer.default
                if action[0] == "drop":
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if action[0] == "slow":
                    time.sleep(action[1])
                    action = ("status", 200, {})
                _, code, headers = action
                records = 0
                if body and self.command == "POST":
                    doc = json.loads(body)
                    records = sum(len(doc.get(t) or []) for t in ("media", "console"))
                    records += len(chunk_points(doc))
                payload = json.dumps({"status": "stored", "records": records, "batch_id": "x"} if code < 300
                                     else {"detail": f"scripted {code}"}).encode()
                self.send_response(code)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = do_PUT = do_GET = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def __enter__(self) -> ScriptedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def push(self, *actions: tuple[Any, ...]) -> None:
        with self.lock:
            self.script.extend(actions)

    def posts(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(b) for m, p, b in self.requests if m == "POST"]


class LiveServer:
    """uvicorn in a thread; ``stop()`` asks it to exit and waits."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def serve_both(backend: str, base: Path, token: str) -> Iterator[ServerProcess]:
    """A ``seetrain server`` process on SQLite or on a fresh PostgreSQL database (``backend``),
    its media and log under ``base``: the body of the tests' parametrised server fixtures."""
    def serve(url: str) -> Iterator[ServerProcess]:
        server = ServerProcess(url, base / "media", token=token, log_path=base / "server.log").start()
        try:
            yield server
        finally:
            server.stop()

    if backend == "sqlite":
        yield from serve(f"sqlite:///{base / 'server.sqlite'}")
    else:
        with postgres_base_url() as pg, fresh_database(pg) as url:
            yield from serve(url)
