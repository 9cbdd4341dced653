"""Columnar metric ingest: packed chunks (one metric's seq/step/ts/value arrays, the codec of
:mod:`seetrain.storage.chunks` that the local store uses too) checked with numpy, no per-point object.

Checks, all vectorised: the four arrays have one length; seq >= 1 and strictly increasing
(so no seq twice); timestamps finite. Values may be NaN/+-inf: they are kept as they are.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["decode_chunk", "check_columns", "columns_from_records", "MAX_CHUNK_POINTS"]

MAX_CHUNK_POINTS = 1_000_000


def check_columns(cols: Any) -> Any:
    """``cols`` itself if it is a valid chunk, else ValueError saying what is wrong."""
    seq, step, ts, value = (np.asarray(a) for a in (cols.seq, cols.step, cols.ts, cols.value))
    n = len(seq)
    if not (len(step) == len(ts) == len(value) == n):
        raise ValueError("seq, step, ts and value differ in length")
    if n > MAX_CHUNK_POINTS:
        raise ValueError(f"a chunk holds at most {MAX_CHUNK_POINTS} points")
    if seq.dtype != np.int64 or step.dtype != np.int64 or ts.dtype != np.float64 or value.dtype != np.float64:
        raise ValueError("a chunk is int64 seq/step and float64 ts/value")
    if n:
        if int(seq.min()) < 1:
            raise ValueError("seq must be >= 1")
        if n > 1 and not bool((seq[1:] > seq[:-1]).all()):
            raise ValueError("seq must be strictly increasing within a chunk")
        if not bool(np.all(np.isfinite(ts))):
            bad = int(np.flatnonzero(~np.isfinite(ts))[0])
            raise ValueError(f"ts must be finite (seq {int(seq[bad])} has {ts[bad]!r})")
    return cols


def decode_chunk(data: str) -> Any:
    """The Columns of one base64 chunk from the wire; ValueError for anything malformed."""
    from seetrain.storage import chunks as _chunks

    try:
        blob = _chunks.from_wire(data)
        cols = _chunks.unpack(blob)
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure of client bytes is a 422
        raise ValueError(f"not a packed chunk: {type(exc).__name__}: {exc}") from None
    return check_columns(cols)


def columns_from_records(rows: list[tuple[int, int, float, float]]) -> Any:
    """(seq, step, ts, value) tuples of one key as Columns in seq order."""
    from seetrain.storage import chunks as _chunks

    rows.sort()
    seq, step, ts, value = zip(*rows)
    return _chunks.Columns(np.array(seq, np.int64), np.array(step, np.int64), np.array(ts, np.float64),
                           np.array(value, np.float64))
