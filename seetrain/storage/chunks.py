"""The one chunk codec: columns of one metric's points packed into bytes.

A chunk holds, for some points of one key, four columns in logging order: ``seq`` (the run's
dense point number, int64), ``step`` (int64), ``ts`` (float64 seconds) and ``value`` (float64;
NaN and the infinities are stored as themselves, no side column). The local store keeps one
row per chunk and the tracking server receives and stores the same bytes, so both read them
with one ``numpy.frombuffer`` per column.

Layout (little-endian): ``b"STC1"``, a flags byte (bit 0: zlib-compressed body), three zero
bytes, ``n`` as uint64, then the body: the four columns one after another, ``n`` values each.
"""

from __future__ import annotations

import base64
import struct
import zlib
from typing import NamedTuple

import numpy as np

MAGIC = b"STC1"
_HEADER = struct.Struct("<4sB3xQ")
_COMPRESSED = 1
_COLUMNS = (("seq", "<i8"), ("step", "<i8"), ("ts", "<f8"), ("value", "<f8"))
POINT_BYTES = 32


class ChunkError(ValueError):
    """The bytes are not a chunk this codec wrote (wrong magic, truncated, sizes disagree)."""


class Columns(NamedTuple):
    seq: np.ndarray
    step: np.ndarray
    ts: np.ndarray
    value: np.ndarray

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def empty(cls) -> Columns:
        return cls(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.float64),
                   np.empty(0, np.float64))

    @classmethod
    def concat(cls, parts: list[Columns]) -> Columns:
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([p[i] for p in parts]) for i in range(4)))

    def take(self, index: np.ndarray | slice) -> Columns:
        return Columns(self.seq[index], self.step[index], self.ts[index], self.value[index])


def pack(seq: np.ndarray, step: np.ndarray, ts: np.ndarray, value: np.ndarray,
         compress: bool = False) -> bytes:
    """Pack four equally long columns (any array-likes castable to the column types)."""
    n = len(seq)
    if not (len(step) == len(ts) == len(value) == n):
        raise ChunkError("columns differ in length")
    body = b"".join(np.ascontiguousarray(col, dtype=dt).tobytes()
                    for col, (_, dt) in zip((seq, step, ts, value), _COLUMNS))
    flags = 0
    if compress:
        body = zlib.compress(body, 1)
        flags = _COMPRESSED
    return _HEADER.pack(MAGIC, flags, n) + body


def pack_many(seq: np.ndarray, step: np.ndarray, ts: np.ndarray, values: np.ndarray) -> list[bytes]:
    """One chunk per column of ``values`` (shape ``(n, k)``): ``k`` keys logged together share
    ``step`` and ``ts`` (``n`` each); ``seq`` is ``(n, k)``. Built as one byte matrix, so a
    thousand keys cost a thousand ``tobytes`` calls, not a thousand times four array passes."""
    n, k = values.shape
    body = np.empty((k, 4, n), dtype="<i8")
    body[:, 0, :] = seq.T
    body[:, 1, :] = step
    body[:, 2, :] = ts.view("<i8") if ts.dtype == np.float64 else ts.astype("<f8").view("<i8")
    body[:, 3, :] = np.ascontiguousarray(values.T, dtype="<f8").view("<i8")
    head = _HEADER.pack(MAGIC, 0, n)
    return [head + row.tobytes() for row in body]


def _header(blob: bytes | memoryview) -> tuple[int, int]:
    """``(flags, n)`` of a chunk; ChunkError when the bytes are not one."""
    if len(blob) < _HEADER.size:
        raise ChunkError("chunk shorter than its header")
    magic, flags, n = _HEADER.unpack_from(blob)
    if magic != MAGIC:
        raise ChunkError("not a SeeTrain chunk")
    return flags, n


def unpack(blob: bytes | memoryview) -> Columns:
    """The columns of a chunk (read-only views on ``blob`` when it is not compressed)."""
    flags, n = _header(blob)
    body: bytes | memoryview = memoryview(blob)[_HEADER.size:]
    if flags & _COMPRESSED:
        try:
            body = zlib.decompress(body)
        except zlib.error as exc:
            raise ChunkError(f"corrupt compressed chunk: {exc}") from None
    if len(body) != n * POINT_BYTES:
        raise ChunkError(f"chunk says {n} points but holds {len(body)} bytes")
    cols = [np.frombuffer(body, dtype=dt, count=n, offset=i * n * 8) for i, (_, dt) in enumerate(_COLUMNS)]
    return Columns(*cols)


def point_count(blob: bytes | memoryview) -> int:
    """``n`` from the header alone."""
    return int(_header(blob)[1])


def to_wire(blob: bytes) -> str:
    """Text form of a chunk for JSON bodies."""
    return base64.b64encode(blob).decode("ascii")


def from_wire(text: str) -> bytes:
    try:
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError) as exc:
        raise ChunkError(f"chunk is not valid base64: {exc}") from None
