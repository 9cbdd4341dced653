"""Logging a large artifact locally: SeeTrain vs the bare floors it is made of.

Measures, on one file of ``--size-mb`` (default 1024 MB) in a tmp dir on the same file system
as the store:

- floors: ``hashlib.sha256`` over the file (1 MiB reads), ``shutil.copyfile`` (kernel copy),
  and their sum (what storing new content must at least do: read it once to hash, copy it once);
- ``run.log_artifact`` of new content (hash + reflink/copy into the blob store + commit);
- ``run.log_artifact`` of the same content again (an unchanged re-log: hashing only);
- ``run.log_artifact`` with ``SEETRAIN_ARTIFACT_LINK=hardlink`` (hash + ``os.link``);
- ``Api().artifact(...).download(dir)`` (kernel copy, then sha256 of the copy);
- dedup: ten files of size/10, one rewritten, logged again: bytes newly stored.

With ``--upload``: the same file sent by ``seetrain artifact push`` to a real ``seetrain server``
(a subprocess on 127.0.0.1): MB/s, and how much the server's and the client's RSS grew at their
peak (sampled every 20 ms with psutil) over their RSS before the upload.

The page cache is warm (the file was just written) for every measurement, SeeTrain and floors
alike; cold-cache numbers depend on the disk. The operations run in rounds (each once per round,
``--repeats`` rounds, medians), with ``os.sync()`` before each, so floors and SeeTrain see the
same machine state on a shared host. Ratios are SeeTrain time
over floor time (1.0 = as fast as the floor). Nothing here is asserted by a test.

    python -m benchmarks.artifacts                 # 1 GB, 3 repeats
    python -m benchmarks.artifacts --size-mb 256 --repeats 5 --json out.json
    python -m benchmarks.artifacts --upload         # also the upload to a local server
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Any

CHUNK = 1 << 20


def _write_payload(path: str, size: int, seed: int = 0) -> None:
    """``size`` bytes of incompressible data (a random 16 MiB block with a per-block counter)."""
    import random

    block = random.Random(seed).randbytes(16 << 20)
    with open(path, "wb") as f:
        written, n = 0, 0
        while written < size:
            head = n.to_bytes(8, "little")
            piece = (head + block[8:])[: size - written]
            f.write(piece)
            written += len(piece)
            n += 1


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            digest.update(view[:n])
    return digest.hexdigest()


def run(size_mb: int, repeats: int, workdir: str | None) -> dict[str, Any]:
    import seetrain

    root = tempfile.mkdtemp(prefix="seetrain-bench-artifacts-", dir=workdir)
    try:
        src = os.path.join(root, "model.ckpt")
        size = size_mb << 20
        _write_payload(src, size)
        logdir = os.path.join(root, "logs")
        copy_dst = os.path.join(root, "copy.bin")
        out: dict[str, Any] = {"size_mb": size_mb, "repeats": repeats}

        run_ = seetrain.init(project="bench", logdir=logdir, system_monitor=False, capture_console=False)
        store = os.path.join(logdir, "bench", "_artifacts")
        dl = os.path.join(root, "dl")

        def fresh_store() -> None:
            shutil.rmtree(store, ignore_errors=True)

        def log_once() -> None:
            assert run_.log_artifact(src, name="ckpt", type="model") is not None

        def hardlink_once() -> None:
            os.environ["SEETRAIN_ARTIFACT_LINK"] = "hardlink"
            try:
                log_once()
            finally:
                del os.environ["SEETRAIN_ARTIFACT_LINK"]

        def download_once() -> None:
            seetrain.Api(logdir).artifact("bench/ckpt:latest").download(dl)

        def clean_copy() -> None:
            if os.path.exists(copy_dst):
                os.unlink(copy_dst)

        # (name, timed call, untimed set-up); one round runs each once, rounds repeat, so floors
        # and SeeTrain see the same machine. os.sync() before each call: writeback of the
        # previous call's gigabyte is not charged to the next one.
        steps = [("floor_sha256_s", lambda: _sha256(src), None),
                 ("floor_copyfile_s", lambda: shutil.copyfile(src, copy_dst), clean_copy),
                 ("log_new_s", log_once, fresh_store),
                 ("relog_unchanged_s", log_once, None),
                 ("download_verify_s", download_once, lambda: shutil.rmtree(dl, ignore_errors=True)),
                 ("log_new_hardlink_s", hardlink_once, fresh_store)]
        times: dict[str, list[float]] = {name: [] for name, _, _ in steps}
        for _ in range(repeats):
            for name, fn, setup in steps:
                if setup is not None:
                    setup()
                os.sync()
                begin = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - begin)
        clean_copy()
        shutil.rmtree(dl, ignore_errors=True)
        out.update({name: statistics.median(values) for name, values in times.items()})
        out["floor_hash_plus_copy_s"] = out["floor_sha256_s"] + out["floor_copyfile_s"]

        # Dedup: ten parts, one rewritten.
        parts = os.path.join(root, "parts")
        os.makedirs(parts)
        for i in range(10):
            _write_payload(os.path.join(parts, f"part-{i}.bin"), size // 10, seed=i + 1)
        before = run_.get_stats().get("artifact_bytes_stored", 0)
        os.sync()
        start = time.perf_counter()
        run_.log_artifact(parts, name="sharded", type="model")
        out["log_folder_of_10_s"] = time.perf_counter() - start
        first = run_.get_stats()["artifact_bytes_stored"] - before
        _write_payload(os.path.join(parts, "part-3.bin"), size // 10, seed=99)
        run_.log_artifact(parts, name="sharded", type="model")
        out["dedup_first_stored_mb"] = first / (1 << 20)
        out["dedup_second_stored_mb"] = (run_.get_stats()["artifact_bytes_stored"] - before - first) / (1 << 20)
        run_.finish()
    finally:
        shutil.rmtree(root, ignore_errors=True)

    mb = float(size_mb)
    for key in [k for k in out if k.endswith("_s")]:
        out[key.replace("_s", "_mb_per_s")] = mb / out[key] if out[key] else None
    out["ratio_log_new_vs_hash_plus_copy"] = out["log_new_s"] / out["floor_hash_plus_copy_s"]
    out["ratio_relog_vs_sha256"] = out["relog_unchanged_s"] / out["floor_sha256_s"]
    out["ratio_hardlink_vs_sha256"] = out["log_new_hardlink_s"] / out["floor_sha256_s"]
    out["ratio_download_vs_hash_plus_copy"] = out["download_verify_s"] / out["floor_hash_plus_copy_s"]
    return out


class _PeakRss:
    """Peak RSS of a process, sampled in a thread."""

    def __init__(self, pid: int) -> None:
        import threading

        import psutil

        self.proc = psutil.Process(pid)
        self.base = self.proc.memory_info().rss
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self.peak = max(self.peak, self.proc.memory_info().rss)
            except Exception:  # noqa: BLE001 - the process ended
                return

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return (self.peak - self.base) / (1 << 20)


def run_upload(size_mb: int, workdir: str | None) -> dict[str, Any]:
    """One push of a ``size_mb`` artifact to a ``seetrain server`` subprocess."""
    import socket
    import subprocess

    import httpx

    import seetrain
    from seetrain.artifacts.upload import ArtifactUploader

    root = tempfile.mkdtemp(prefix="seetrain-bench-upload-", dir=workdir)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "seetrain.cli", "server", "--db",
                               f"sqlite:///{root}/srv.sqlite", "--media-dir", f"{root}/media", "--port", str(port),
                               "--token", "bench"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/api/v1/projects", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        src = os.path.join(root, "model.ckpt")
        _write_payload(src, size_mb << 20, seed=7)
        logdir = os.path.join(root, "logs")
        run_ = seetrain.init(project="bench", logdir=logdir, system_monitor=False, capture_console=False)
        run_.log_artifact(src, name="ckpt", type="model")
        run_.finish()
        server_rss = _PeakRss(server.pid)
        client_rss = _PeakRss(os.getpid())
        uploader = ArtifactUploader(url, "bench")
        start = time.perf_counter()
        uploader.push_project(logdir, "bench")
        seconds = time.perf_counter() - start
        uploader.close()
        out = {"upload_mb": size_mb, "upload_s": seconds, "upload_mb_per_s": size_mb / seconds,
               "upload_bytes_sent": uploader.stats.bytes_sent, "chunk_mb": uploader.chunk_bytes / (1 << 20),
               "server_rss_growth_mb": server_rss.stop(), "client_rss_growth_mb": client_rss.stop()}
        again = ArtifactUploader(url, "bench")
        again.push_project(logdir, "bench")
        out["second_push_bytes_sent"] = again.stats.bytes_sent
        again.close()
        return out
    finally:
        server.terminate()
        server.wait(30)
        shutil.rmtree(root, ignore_errors=True)


def table(r: dict[str, Any]) -> str:
    rows = [
        ("floor: hashlib.sha256 (read + hash)", "floor_sha256_s", ""),
        ("floor: shutil.copyfile", "floor_copyfile_s", ""),
        ("floor: sha256 + copyfile", "floor_hash_plus_copy_s", ""),
        ("log_artifact, new content", "log_new_s", f"{r['ratio_log_new_vs_hash_plus_copy']:.2f}x sha256+copy"),
        ("log_artifact, unchanged re-log", "relog_unchanged_s", f"{r['ratio_relog_vs_sha256']:.2f}x sha256"),
        ("log_artifact, new, hardlink mode", "log_new_hardlink_s", f"{r['ratio_hardlink_vs_sha256']:.2f}x sha256"),
        ("download (verified)", "download_verify_s", f"{r['ratio_download_vs_hash_plus_copy']:.2f}x sha256+copy"),
        ("log_artifact, new folder of 10 files (threads)", "log_folder_of_10_s",
         f"{r['log_folder_of_10_s'] / r['floor_hash_plus_copy_s']:.2f}x sha256+copy (one run)"),
    ]
    lines = [f"{r['size_mb']} MB file, median of {r['repeats']}, warm page cache", "",
             "| operation | seconds | MB/s | ratio |", "|---|---:|---:|---|"]
    for label, key, ratio in rows:
        lines.append(f"| {label} | {r[key]:.3f} | {r[key.replace('_s', '_mb_per_s')]:.0f} | {ratio} |")
    lines.append("")
    lines.append(f"dedup: 10 files of {r['size_mb'] / 10:.0f} MB, one rewritten: first log stored "
                 f"{r['dedup_first_stored_mb']:.0f} MB, second {r['dedup_second_stored_mb']:.0f} MB")
    if "upload_s" in r:
        lines.append(f"upload to a local `seetrain server` ({r['chunk_mb']:.0f} MiB chunks): {r['upload_s']:.2f} s, "
                     f"{r['upload_mb_per_s']:.0f} MB/s; RSS growth at peak: server {r['server_rss_growth_mb']:.1f} MB, "
                     f"client {r['client_rss_growth_mb']:.1f} MB; a second push sent {r['second_push_bytes_sent']} bytes")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to put the tmp dir (default: the system tmp)")
    parser.add_argument("--json", default=None, help="also write the raw numbers here")
    parser.add_argument("--upload", action="store_true", help="also push it to a local seetrain server")
    args = parser.parse_args(argv)
    result = run(args.size_mb, args.repeats, args.dir)
    if args.upload:
        result.update(run_upload(args.size_mb, args.dir))
    print(table(result))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
