"""Min/max-preserving downsampling of one metric series (pure numpy).

A chart a few hundred pixels wide cannot show a million points, but it must still show
every spike and every NaN. The x range is cut into buckets of equal x width (a pixel column
each, whatever the density of points in it) and each bucket keeps the points holding its
minimum and its maximum, in x order; non-finite points are always kept. Zooming asks again
for a narrower x range, which is bucketed afresh, so the chart refines down to the raw points.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Selection", "minmax_indices", "select"]


@dataclass
class Selection:
    """Indices (into the x-sorted series) to send, and how many points the range held."""

    indices: np.ndarray
    in_range: int
    downsampled: bool


def minmax_indices(y: np.ndarray, n_buckets: int, x: np.ndarray | None = None) -> np.ndarray:
    """Sorted indices of each bucket's min and max point, plus every non-finite point.

    ``y`` is already in x order. With ``x`` (sorted ascending, same length) the range
    ``[x[0], x[-1]]`` is cut into ``n_buckets`` buckets of equal x *width*, so a stretch where
    points are dense gets no more of the output than a sparse one of the same width (a mix of
    raw points and level-of-detail extremes stays even). Without ``x`` the index is the x.
    At most ``2 * n_buckets + 2`` finite points come back (first and last point included so the
    line spans the whole range); a bucket holding no point gives none.
    """
    n = len(y)
    if n_buckets < 1:
        raise ValueError("n_buckets must be >= 1")
    if x is not None and len(x) != n:
        raise ValueError("x and y must have the same length")
    if n <= 2 * n_buckets:
        return np.arange(n)
    finite = np.isfinite(y)
    # Non-finite points must not win a bucket's min or max: they are added separately.
    lo_y = np.where(finite, y, np.inf)
    hi_y = np.where(finite, y, -np.inf)
    xs = np.arange(n, dtype=np.float64) if x is None else np.asarray(x, dtype=np.float64)
    span = float(xs[-1] - xs[0])
    if not np.isfinite(span) or span <= 0:
        bucket = np.zeros(n, dtype=np.int64)
    else:
        # Bucket b holds x in [x0 + b w, x0 + (b+1) w); the last one also holds x[-1].
        bucket = np.minimum(((xs - xs[0]) * (n_buckets / span)).astype(np.int64), n_buckets - 1)
        np.maximum.accumulate(bucket, out=bucket)  # guards against rounding in a sorted x
    starts = np.flatnonzero(np.concatenate([[True], bucket[1:] != bucket[:-1]]))
    mins = _first_hit(lo_y, np.minimum.reduceat(lo_y, starts), starts, n)
    maxs = _first_hit(hi_y, np.maximum.reduceat(hi_y, starts), starts, n)
    parts = [mins, maxs, np.flatnonzero(~finite), np.array([0, n - 1])]
    return np.unique(np.concatenate(parts))


def _first_hit(values: np.ndarray, per_segment: np.ndarray, starts: np.ndarray, n: int) -> np.ndarray:
    """The first index of each segment (``starts``) whose value equals that segment's extreme;
    segments whose extreme is not finite (no finite point) give nothing."""
    seg = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    hit = np.flatnonzero(values == per_segment[seg])
    hit_seg = seg[hit]
    first = hit[np.concatenate([[True], hit_seg[1:] != hit_seg[:-1]])] if len(hit) else hit
    return first[np.isfinite(values[first])]


def select(x: np.ndarray, y: np.ndarray, max_points: int, x_min: float | None = None,
           x_max: float | None = None) -> Selection:
    """Pick the points of the x range [x_min, x_max] to draw, at most about ``max_points``.

    ``x`` must be sorted ascending. One point beyond each end of the range is included so
    a zoomed line reaches the edges of the chart instead of stopping at the last point inside.
    """
    if max_points < 2:
        raise ValueError("max_points must be >= 2")
    if x_min is not None and x_max is not None and x_min > x_max:
        raise ValueError("x_min must not be greater than x_max")
    n = len(x)
    lo = 0 if x_min is None else int(np.searchsorted(x, x_min, side="left"))
    hi = n if x_max is None else int(np.searchsorted(x, x_max, side="right"))
    in_range = hi - lo
    lo_ext = max(lo - 1, 0) if x_min is not None else lo
    hi_ext = min(hi + 1, n) if x_max is not None else hi
    if hi_ext <= lo_ext:
        return Selection(np.arange(0), in_range, False)
    # Buckets cover the requested range only: the neighbour beyond an edge may be far away
    # (a sparse stretch) and must not stretch the bucket grid.
    picked = minmax_indices(y[lo:hi], max(1, max_points // 2), x[lo:hi]) + lo if hi > lo else np.arange(0)
    extra = [i for i in (lo_ext, hi_ext - 1) if i < lo or i >= hi]
    if extra:
        picked = np.unique(np.concatenate([picked, np.array(extra, dtype=np.int64)]))
    return Selection(picked, in_range, len(picked) < hi_ext - lo_ext)
