"""The per-run write-ahead journal: every record ``log()`` accepts is in it before ``log()`` returns.

The journal is a series of segment files under ``<run_dir>/journal/`` (1 MiB, then doubling up
to 8 MiB), each preallocated
(``posix_fallocate``, so a full disk fails here, at creation, and never as a SIGBUS on a page
write) and mapped with ``mmap``. Appending a record is a ``struct.pack_into`` into the mapping:
no system call, no fsync. The pages belong to the kernel's page cache, so they survive the
process being killed (SIGKILL, the OOM killer); only power loss or a kernel crash can cost the
pages not yet written back (documented in docs/architecture.md).

The writer thread reads records out of the same mappings and moves them into the SQLite store,
saving the journal position it reached in the same transaction as the data. Whatever lies past
that position when a run's process is gone is replayed by :func:`seetrain.storage.recovery.recover`.

Record layout (little-endian)::

    u32 length  (of the whole record)   u8 kind   ...payload...   u8 0xA5

The trailer byte is written last (``pack_into`` writes fields in order), so a record cut short
by a kill has no trailer and ends the readable part of its segment. Scalar records use a
``Struct`` per key tuple ("schema"): ``u32 schema id, i64 step, f64 ts, f64 value * k``. A
schema is declared (kind ``SCHEMA``, its keys as JSON) in each segment before its first use
there, so every segment decodes on its own.

When no segment can be created (disk full, read-only folder), records go to memory buffers
instead: nothing is lost while the process lives, and the run says so once.
"""

from __future__ import annotations

import mmap
import os
import re
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

JOURNAL_DIR = "journal"
# A run's first segment is small (a sweep of many open runs preallocates little disk); each
# next one doubles, up to SEGMENT_SIZE, so a fast logger rolls rarely.
FIRST_SEGMENT_SIZE = 1 << 20
SEGMENT_SIZE = 8 << 20
TRAILER = 0xA5
MAGIC = b"STJ1"
_SEG_HEADER = struct.Struct("<4sIQ")  # magic, format version, segment number
HEADER_SIZE = _SEG_HEADER.size
_REC_HEAD = struct.Struct("<IB")
_SCHEMA_HEAD = struct.Struct("<IBI")
_SCALAR_PREFIX = "<IBIqd"

SCALARS = 1
SCHEMA = 2
PICKLED = 3
CONSOLE = 4
FIELDS = 5
KINDS = (SCALARS, SCHEMA, PICKLED, CONSOLE, FIELDS)
_NAME = re.compile(r"^(\d{12})\.seg$")




class Schema:
    """One key tuple's scalar record layout; ``seg`` is the segment it was last declared in."""

    __slots__ = ("keys", "id", "struct", "size", "seg")

    def __init__(self, keys: tuple[str, ...], sid: int) -> None:
        self.keys = keys
        self.id = sid
        self.struct = struct.Struct(f"{_SCALAR_PREFIX}{len(keys)}dB")
        self.size = self.struct.size
        self.seg = -1


class Segment:
    __slots__ = ("number", "buf", "path", "cap", "end", "sealed", "_mm", "_fd")

    def __init__(self, number: int, buf: Any, path: str | None, mm: mmap.mmap | None = None,
                 fd: int | None = None) -> None:
        self.number = number
        self.buf = buf
        self.path = path
        self.cap = len(buf)
        self.end = HEADER_SIZE
        self.sealed = False
        self._mm = mm
        self._fd = fd

    def close(self) -> None:
        if self._mm is not None:
            try:
                self._mm.close()
            except BufferError:  # a reader still holds a view: the mapping goes with the object
                pass
            self._mm = None
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def segment_path(directory: str, number: int) -> str:
    return os.path.join(directory, f"{number:012d}.seg")


def list_segments(directory: str) -> list[tuple[int, str]]:
    """``(number, path)`` of every segment file, oldest first."""
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    out = []
    for name in names:
        m = _NAME.match(name)
        if m:
            out.append((int(m.group(1)), os.path.join(directory, name)))
    out.sort()
    return out


class Journal:
    """The append side (training threads) and the read side (the writer thread) of one run's journal.

    ``on_fallback(message)`` is called once when records start going to memory instead of disk.
    """

    def __init__(self, directory: str, first_number: int = 1,
                 on_fallback: Callable[[str], None] | None = None,
                 segment_size: int = FIRST_SEGMENT_SIZE) -> None:
        self.directory = directory
        self.segment_size = segment_size
        self.lock = threading.Lock()
        self._on_fallback = on_fallback
        self._schemas: dict[tuple[str, ...], Schema] = {}
        self._by_id: dict[int, Schema] = {}
        self.segments: list[Segment] = []
        self.memory_bytes = 0
        self.fallback_reason: str | None = None
        self._next_number = first_number
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            self._fallback(exc)
        self.seg = self._new_segment(0)

    # ---- segments ---------------------------------------------------------------------------
    def _new_segment(self, need: int) -> Segment:
        number = self._next_number
        self._next_number += 1
        size = max(self.segment_size, need + HEADER_SIZE + 1)
        self.segment_size = min(self.segment_size * 2, max(SEGMENT_SIZE, self.segment_size))
        seg = None
        if self.fallback_reason is None or self._retry_disk():
            seg = self._file_segment(number, size)
        if seg is None:
            seg = Segment(number, bytearray(size), None)
            self.memory_bytes += size
        _SEG_HEADER.pack_into(seg.buf, 0, MAGIC, 1, number)
        self.segments.append(seg)
        return seg

    def _retry_disk(self) -> bool:
        # After a fallback, try the disk again for every 8th segment: a disk that got room
        # back is used again without paying a failed fallocate on every roll.
        return self._next_number % 8 == 0

    def _file_segment(self, number: int, size: int) -> Segment | None:
        path = segment_path(self.directory, number)
        fd = None
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
            if hasattr(os, "posix_fallocate"):
                os.posix_fallocate(fd, 0, size)
            else:  # pragma: no cover - macOS: no preallocation, a full disk may SIGBUS
                os.ftruncate(fd, size)
            mm = mmap.mmap(fd, size)
        except OSError as exc:
            if fd is not None:
                os.close(fd)
                try:
                    os.unlink(path)
                except OSError:
                    pass
            self._fallback(exc)
            return None
        if self.fallback_reason is not None:
            self.fallback_reason = None
        return Segment(number, mm, path, mm, fd)

    def _fallback(self, exc: OSError) -> None:
        first = self.fallback_reason is None
        self.fallback_reason = f"{type(exc).__name__}: {exc}"
        if first and self._on_fallback is not None:
            self._on_fallback(self.fallback_reason)

    def _roll(self, need: int) -> Segment:
        """Seal the current segment and start the next one (called with the lock held)."""
        self.seg.sealed = True
        self.seg = seg = self._new_segment(need)
        return seg

    # ---- append (any thread) ---------------------------------------------------------------
    def schema(self, keys: tuple[str, ...]) -> Schema:
        sch = self._schemas.get(keys)
        if sch is None:
            with self.lock:
                sch = self._schemas.get(keys)
                if sch is None:
                    sch = Schema(keys, len(self._by_id) + 1)
                    self._by_id[sch.id] = sch
                    self._schemas[keys] = sch
        return sch

    def append_scalars(self, sch: Schema, step: int, ts: float, values: Any) -> None:
        """One scalar record. Raises (``struct.error``, ``TypeError``, ``OverflowError``) and
        writes nothing when a value is not a plain number: the caller takes the slow path."""
        size = sch.size
        with self.lock:
            seg = self.seg
            if sch.seg != seg.number:
                seg = self._declare(sch, size)
            off = seg.end
            if off + size >= seg.cap:
                seg = self._roll(size)
                seg = self._declare(sch, size)
                off = seg.end
            try:
                sch.struct.pack_into(seg.buf, off, size, SCALARS, sch.id, step, ts, *values, TRAILER)
            except BaseException:
                seg.buf[off:off + size] = bytes(size)  # leave no half record behind
                raise
            seg.end = off + size

    def _declare(self, sch: Schema, need: int) -> Segment:
        payload = orjson.dumps(list(sch.keys))
        size = _SCHEMA_HEAD.size + len(payload) + 1
        seg = self.seg
        if seg.end + size + need >= seg.cap:
            seg = self._roll(size + need)
        off = seg.end
        buf = seg.buf
        _SCHEMA_HEAD.pack_into(buf, off, size, SCHEMA, sch.id)
        buf[off + _SCHEMA_HEAD.size:off + size - 1] = payload
        buf[off + size - 1] = TRAILER
        seg.end = off + size
        sch.seg = seg.number
        return seg

    def append(self, kind: int, payload: bytes) -> None:
        """A record of any other kind (pickled media/events, console lines, run fields)."""
        size = _REC_HEAD.size + len(payload) + 1
        with self.lock:
            seg = self.seg
            off = seg.end
            if off + size >= seg.cap:
                seg = self._roll(size)
                off = seg.end
            buf = seg.buf
            _REC_HEAD.pack_into(buf, off, size, kind)
            buf[off + _REC_HEAD.size:off + size - 1] = payload
            buf[off + size - 1] = TRAILER
            seg.end = off + size

    # ---- read side (writer thread) ---------------------------------------------------------
    def pending_bytes(self, number: int, offset: int) -> int:
        """Bytes appended after position ``(number, offset)``."""
        total = 0
        for seg in self.segments:
            if seg.number > number:
                total += seg.end - HEADER_SIZE
            elif seg.number == number:
                total += max(0, seg.end - offset)
        return total

    def release(self, number: int) -> None:
        """Drop every sealed segment numbered below ``number`` (the store holds its records)."""
        with self.lock:
            keep = []
            for seg in self.segments:
                if seg.number < number and seg.sealed:
                    seg.close()
                    if seg.path is not None:
                        try:
                            os.unlink(seg.path)
                        except OSError:
                            pass
                    else:
                        self.memory_bytes -= seg.cap
                else:
                    keep.append(seg)
            self.segments = keep

    def close(self, remove: bool) -> None:
        """Unmap everything; ``remove`` deletes the files (the store holds every record)."""
        with self.lock:
            for seg in self.segments:
                seg.close()
                if remove and seg.path is not None:
                    try:
                        os.unlink(seg.path)
                    except OSError:
                        pass
            self.segments = []


@dataclass
class RawRecord:
    """One record, or for scalars a run of ``count`` consecutive records of one schema."""

    kind: int
    offset: int
    end: int
    schema: Schema | None = None
    payload: Any = None
    count: int = 1


def _same_schema_run(buf: Any, off: int, size: int, sid: int, limit: int) -> int:
    """How many complete scalar records of schema ``sid`` follow each other from ``off`` (at
    least 1): checked for all of them at once with numpy, so a burst costs no Python per record."""
    import numpy as np

    most = (limit - off) // size
    if most < 4:
        return 1
    head = np.dtype({"names": ["len", "kind", "sid", "tr"], "formats": ["<u4", "u1", "<u4", "u1"],
                     "offsets": [0, 4, 5, size - 1], "itemsize": size})
    recs = np.frombuffer(buf, dtype=head, count=most, offset=off)
    ok = (recs["len"] == size) & (recs["kind"] == SCALARS) & (recs["sid"] == sid) & (recs["tr"] == TRAILER)
    del recs  # no view may outlive this call (an mmap with views cannot be closed)
    return most if ok.all() else max(1, int(ok.argmin()))


def walk(buf: Any, start: int, end: int, schemas: dict[int, Schema]) -> Iterator[RawRecord]:
    """Complete records in ``buf[start:end]``, in order; stops at the first incomplete one.

    Schema records met on the way are added to ``schemas`` (and also yielded, so a reader that
    starts mid-segment has walked them from the segment's start)."""
    off = start
    limit = min(end, len(buf))
    while off + _REC_HEAD.size < limit:
        size, kind = _REC_HEAD.unpack_from(buf, off)
        if size < _REC_HEAD.size + 1 or off + size > limit or buf[off + size - 1] != TRAILER or kind not in KINDS:
            return
        if kind == SCALARS:
            (sid,) = struct.unpack_from("<I", buf, off + _REC_HEAD.size)
            sch = schemas.get(sid)
            if sch is None or sch.size != size:
                return
            count = _same_schema_run(buf, off, size, sid, limit)
            yield RawRecord(kind, off, off + size * count, sch, count=count)
            off += size * count
            continue
        elif kind == SCHEMA:
            (sid,) = struct.unpack_from("<I", buf, off + _REC_HEAD.size)
            try:
                keys = tuple(orjson.loads(bytes(buf[off + _SCHEMA_HEAD.size:off + size - 1])))
            except orjson.JSONDecodeError:
                return
            sch = Schema(keys, sid)
            schemas[sid] = sch
            yield RawRecord(kind, off, off + size, sch)
        else:
            yield RawRecord(kind, off, off + size, None,
                            memoryview(buf)[off + _REC_HEAD.size:off + size - 1])
        off += size


def read_segment_file(path: str) -> tuple[int, bytes] | None:
    """``(number, contents)`` of a segment file, or None when it is not one."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    if len(data) < HEADER_SIZE:
        return None
    magic, _version, number = _SEG_HEADER.unpack_from(data)
    if magic != MAGIC:
        return None
    return number, data
