"""Scale-out: two ``seetrain server`` replicas on one PostgreSQL and one S3 bucket (moto's
S3-compatible server on 127.0.0.1), no shared disk, behind a small round-robin balancer,
with client processes logging scalars and images and one replica SIGKILLed mid-run.
Every point is stored once and every image is readable through the surviving replica."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from seetrain.server.db import Database
from tests.servers import ROOT, ServerProcess, free_port, fresh_database, postgres_base_url

pytestmark = pytest.mark.e2e
TOKEN = "scale-token"
BUCKET = "seetrain-media"


@contextlib.contextmanager
def moto_s3(tmp_path: Path) -> Iterator[str]:
    """moto's S3-compatible server in its own process on 127.0.0.1."""
    pytest.importorskip("boto3")
    pytest.importorskip("moto")
    port = free_port()
    log = open(tmp_path / "moto.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()


class Balancer:
    """Round-robin HTTP balancer: a backend that refuses the connection is skipped (as a load
    balancer's health check would), and 502 only when none answers."""

    def __init__(self, backends: list[str]) -> None:
        self.backends = backends
        self.next = 0
        self.lock = threading.Lock()
        self.client = httpx.Client(timeout=60)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                return

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                with outer.lock:
                    start = outer.next
                    outer.next += 1
                answer = None
                for i in range(len(outer.backends)):
                    backend = outer.backends[(start + i) % len(outer.backends)]
                    try:
                        answer = outer.client.request(self.command, backend + self.path, content=body,
                                                      headers=headers)
                        break
                    except httpx.TransportError:
                        continue
                status, content = (answer.status_code, answer.content) if answer else (502, b"{}")
                self.send_response(status)
                for key, value in (answer.headers.items() if answer else ()):
                    if key.lower() in ("content-type", "retry-after"):
                        self.send_header(key, value)
                self.send_header("content-length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

            do_GET = do_POST = do_PUT = _handle

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> Balancer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.client.close()


CLIENT = """
import sys
import numpy as np
import seetrain
run = seetrain.init(project="scale", logdir=sys.argv[1], mode="online", host=sys.argv[2], upload_timeout=120)
for i in range(int(sys.argv[3])):
    seetrain.log({"loss": 1.0 / (i + 1), "acc": i * 1e-4})
    if i % 1000 == 0:
        seetrain.log_image("sample", np.full((8, 8, 3), i % 251, dtype=np.uint8), step=i)
seetrain.finish()
print(run.id, flush=True)
"""


def test_two_replicas_one_postgres_one_bucket_one_killed_mid_run(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import boto3

    steps, clients = 20_000, 3
    with postgres_base_url() as pg, fresh_database(pg) as db_url, moto_s3(tmp_path) as s3_url:
        for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                           "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": s3_url}.items():
            monkeypatch.setenv(key, value)
        boto3.client("s3", endpoint_url=s3_url).create_bucket(Bucket=BUCKET)
        # Each replica has its own disk (its media dir is only a read cache).
        replicas = [ServerProcess(db_url, tmp_path / f"replica{i}" / "cache", token=TOKEN,
                                  args=("--media-store", f"s3://{BUCKET}/prod"),
                                  log_path=tmp_path / f"replica{i}.log") for i in range(2)]
        for i, replica in enumerate(replicas):
            (tmp_path / f"replica{i}").mkdir()
            replica.start()
        try:
            with Balancer([r.url for r in replicas]) as lb:
                env = {**os.environ, "PYTHONPATH": str(ROOT), "SEETRAIN_API_KEY": TOKEN,
                       "SEETRAIN_SYSTEM_MONITOR": "0", "SEETRAIN_CAPTURE_CONSOLE": "0",
                       "SEETRAIN_UPLOAD_BATCH": "1000", "SEETRAIN_BACKOFF_BASE": "0.05",
                       "SEETRAIN_BACKOFF_MAX": "0.5", "SEETRAIN_BREAKER_RESET": "0.5"}
                procs = [subprocess.Popen([sys.executable, "-c", textwrap.dedent(CLIENT), str(tmp_path / f"logs{c}"),
                                           lb.url, str(steps)], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True) for c in range(clients)]

                def uploaded() -> int:
                    db = Database(db_url, create=False)
                    try:
                        return db.count("scalars", "scale")
                    finally:
                        db.dispose()

                deadline = time.monotonic() + 120
                while uploaded() < steps // 2 and time.monotonic() < deadline:
                    time.sleep(0.05)
                replicas[0].kill()  # mid-run, mid-batch: no shutdown handler runs
                results = []
                for proc in procs:
                    out, err = proc.communicate(timeout=300)
                    assert proc.returncode == 0, err[-3000:]
                    results.append((out.strip().splitlines()[-1], err))
            survivor = replicas[1]
            db = Database(db_url, create=False)
            try:
                for run_id, err in results:
                    assert "kept locally 0" in err and "dropped 0" in err, err[-2000:]
                    rows = db.scalar_rows("scale", run_id)
                    assert [r[0] for r in rows] == sorted({r[0] for r in rows})  # each seq once
                    assert len(rows) == 2 * steps
                    images = survivor.get(f"/api/v1/runs/scale/{run_id}/media", params={"kind": "image"}).json()
                    assert len(images) == steps // 1000
                    for image in images:
                        got = survivor.get(f"/api/v1/runs/scale/{run_id}/file/{image['file']}")
                        assert got.status_code == 200 and got.content[:4] == b"\x89PNG"
            finally:
                db.dispose()
            # No replica kept media on its own disk: it is all in the bucket.
            objects = boto3.client("s3", endpoint_url=s3_url).list_objects_v2(Bucket=BUCKET, Prefix="prod/scale/")
            assert objects["KeyCount"] == clients * (steps // 1000)
        finally:
            for replica in replicas:
                replica.stop()
