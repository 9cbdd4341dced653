"""The content-addressed blob store: one file per distinct content, named by its sha256.

``objects/sha256/ab/cdef...``: a file logged in many versions (or by many runs) is stored once.
A new blob is first written under a temporary name in its fan-out folder, then renamed into
place, so a reader never sees a half-written blob and two processes storing the same content
at once both succeed.

How a source file becomes a blob (``link`` mode, ``SEETRAIN_ARTIFACT_LINK``):

- ``copy`` (default): a reflink (``FICLONE``: copy-on-write on btrfs/XFS, instant and no extra
  space) where the file system allows it, else a kernel copy (``shutil.copyfile`` uses
  ``sendfile``). The blob is then made read-only.
- ``hardlink``: ``os.link`` where source and store share a file system, else ``copy``. No bytes
  are copied, but the blob *is* the source file: a framework that later rewrites that file in
  place (``torch.save`` over ``last.ckpt`` truncates the same inode) silently changes the stored
  version. ``download`` detects that (hashes are verified) but cannot undo it, which is why this
  is opt-in.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import time
from collections.abc import Iterator

CHUNK = 1 << 20
LINK_MODES = ("copy", "hardlink")
_FICLONE = 0x40049409  # linux/fs.h: _IOW(0x94, 9, int)
TMP_MARK = ".tmp-"


def hash_file(path: str) -> tuple[str, int]:
    """sha256 hex digest and size of a file, read in 1 MiB chunks (hashlib releases the GIL)."""
    digest = hashlib.sha256()
    size = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(path, "rb", buffering=0) as f:
        while True:
            n = f.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
            size += n
    return digest.hexdigest(), size


def copy_hashing(src: str, dst: str) -> str:
    """Copy ``src`` to ``dst`` in one pass, returning the sha256 of the bytes written."""
    digest = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with open(src, "rb", buffering=0) as fin, open(dst, "wb") as fout:
        while True:
            n = fin.readinto(buf)
            if not n:
                break
            digest.update(view[:n])
            fout.write(view[:n])
    return digest.hexdigest()


def _reflink(src: str, dst: str) -> bool:
    try:
        import fcntl  # POSIX only; elsewhere there is no FICLONE either
    except ImportError:
        return False
    try:
        with open(src, "rb") as fin, open(dst, "xb") as fout:
            fcntl.ioctl(fout.fileno(), _FICLONE, fin.fileno())
        return True
    except OSError:
        # Remove the empty file: copying over it would reopen it with O_TRUNC, and ext4
        # (auto_da_alloc) then flushes the whole new file to disk on close: 2-10x slower.
        _unlink(dst)
        return False


def materialize(src: str, dst: str, link: str = "copy") -> str:
    """Make ``dst`` hold the bytes of ``src``; returns how: ``hardlink``, ``reflink`` or ``copy``."""
    if link == "hardlink":
        try:
            os.link(src, dst)
            return "hardlink"
        except OSError:
            pass
    if _reflink(src, dst):
        return "reflink"
    shutil.copyfile(src, dst)
    return "copy"


def _signature(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


class BlobStore:
    """Blobs under ``root`` (``.../objects/sha256``)."""

    def __init__(self, root: str) -> None:
        self.root = root

    def path(self, digest: str) -> str:
        return os.path.join(self.root, digest[:2], digest[2:])

    def has(self, digest: str) -> bool:
        return os.path.isfile(self.path(digest))

    def put(self, src: str, link: str = "copy") -> tuple[str, int, int]:
        """Store the content of ``src``; returns ``(sha256, size, bytes newly stored)``.

        Content already present costs only its hashing. A source changed while it was being
        stored is stored as it was copied (hash taken from the copy), never under a wrong name.
        """
        before = os.stat(src)
        digest, size = hash_file(src)
        if self.has(digest):
            return digest, size, 0
        folder = os.path.dirname(self.path(digest))
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f"{TMP_MARK}{os.getpid()}-{secrets.token_hex(4)}")
        try:
            how = materialize(src, tmp, link)
            if _signature(os.stat(src)) != _signature(before):
                # The file changed between hashing and copying: name the blob by what we copied.
                _unlink(tmp)
                digest = copy_hashing(src, tmp)
                size = os.path.getsize(tmp)
                how = "copy"
                dst_folder = os.path.dirname(self.path(digest))
                os.makedirs(dst_folder, exist_ok=True)
            if how != "hardlink":
                os.chmod(tmp, 0o444)  # blobs are immutable; a hard link shares the user's inode
            os.replace(tmp, self.path(digest))
        except BaseException:
            _unlink(tmp)
            raise
        return digest, size, size

    def size(self, digest: str) -> int:
        return os.path.getsize(self.path(digest))

    def adopt(self, src: str, digest: str) -> None:
        """Move a file already verified to hash to ``digest`` (an upload) into the store."""
        target = self.path(digest)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.chmod(src, 0o444)
        os.replace(src, target)

    def remove(self, digest: str) -> int:
        """Delete one blob; returns the bytes freed (0 if it was already gone)."""
        path = self.path(digest)
        try:
            size = os.path.getsize(path)
            os.unlink(path)
        except FileNotFoundError:
            return 0
        try:
            os.rmdir(os.path.dirname(path))
        except OSError:
            pass  # the fan-out folder still holds other blobs
        return size

    def iter_digests(self) -> Iterator[str]:
        """Every committed blob on disk (temporary files excluded)."""
        if not os.path.isdir(self.root):
            return
        for fan in sorted(os.listdir(self.root)):
            folder = os.path.join(self.root, fan)
            if len(fan) != 2 or not os.path.isdir(folder):
                continue
            for rest in os.listdir(folder):
                if not rest.startswith(TMP_MARK):
                    yield fan + rest

    def stale_temporaries(self, older_than: float = 3600.0) -> Iterator[str]:
        """Temporary files left by a process killed while storing a blob."""
        if not os.path.isdir(self.root):
            return
        limit = time.time() - older_than
        for fan in os.listdir(self.root):
            folder = os.path.join(self.root, fan)
            if not os.path.isdir(folder):
                continue
            for rest in os.listdir(folder):
                path = os.path.join(folder, rest)
                if rest.startswith(TMP_MARK) and os.path.getmtime(path) < limit:
                    yield path


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
