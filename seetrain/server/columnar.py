"""Columnar metric ingest: packed chunks (one metric's seq/step/ts/value arrays, the codec of
:mod:`seetrain._chunks` that the local store uses too) checked with numpy, no per-point object.

Checks, all vectorised: the four arrays have one length; seq >= 1 and strictly increasing
(so no seq twice); timestamps finite. Values may be NaN/+-inf: they are kept, and stored in
the row table as NULL plus a ``special`` marker as the JSON path does.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["decode_chunk", "chunk_rows", "check_columns"]

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
        if n > 1 and not bool(np.all(np.diff(seq) > 0)):
            raise ValueError("seq must be strictly increasing within a chunk")
        if not bool(np.all(np.isfinite(ts))):
            bad = int(np.flatnonzero(~np.isfinite(ts))[0])
            raise ValueError(f"ts must be finite (seq {int(seq[bad])} has {ts[bad]!r})")
    return cols


def decode_chunk(data: str) -> Any:
    """The Columns of one base64 chunk from the wire; ValueError for anything malformed."""
    from seetrain import _chunks

    try:
        cols = _chunks.unpack(_chunks.from_wire(data))
    except ValueError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoding failure of client bytes is a 422
        raise ValueError(f"not a packed chunk: {type(exc).__name__}: {exc}") from None
    return check_columns(cols)


_SPECIAL_NAMES = {1: "inf", -1: "-inf"}


def chunk_rows(run_pk: int, key: str, cols: Any) -> list[dict[str, Any]]:
    """Rows for the ``scalars`` table; non-finite values become NULL plus their marker."""
    value = np.asarray(cols.value, dtype=np.float64)
    finite = np.isfinite(value)
    seqs, steps, tss = cols.seq.tolist(), cols.step.tolist(), cols.ts.tolist()
    if bool(finite.all()):
        return [{"run_pk": run_pk, "seq": s, "key": key, "step": st, "ts": t, "value": v, "special": None}
                for s, st, t, v in zip(seqs, steps, tss, value.tolist())]
    values: list[float | None] = value.tolist()
    specials: list[str | None] = [None] * len(values)
    for i in np.flatnonzero(~finite).tolist():
        v = values[i]
        specials[i] = "nan" if v != v else _SPECIAL_NAMES[1 if v > 0 else -1]  # type: ignore[operator]
        values[i] = None
    return [{"run_pk": run_pk, "seq": s, "key": key, "step": st, "ts": t, "value": v, "special": sp}
            for s, st, t, v, sp in zip(seqs, steps, tss, values, specials)]
