"""Min/max-preserving downsampling of one metric series (pure numpy).

A chart a few hundred pixels wide cannot show a million points, but it must still show
every spike and every NaN. The x range is cut into equal-count buckets and each bucket
keeps the points holding its minimum and its maximum, in x order; non-finite points are
always kept. Zooming asks again for a narrower x range, which is bucketed afresh, so the
chart refines down to the raw points.

For series stored with level-of-detail blocks (one summary row per 1024 points),
:func:`plan_blocks` decides which blocks a request reads raw and which ones stand in by
their extreme points, before the points go through :func:`select`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BlockPlan", "Selection", "minmax_indices", "plan_blocks", "select"]


@dataclass
class Selection:
    """Indices (into the x-sorted series) to send, and how many points the range held."""

    indices: np.ndarray
    in_range: int
    downsampled: bool


def minmax_indices(y: np.ndarray, n_buckets: int) -> np.ndarray:
    """Sorted indices of each bucket's min and max point, plus every non-finite point.

    ``y`` is already in x order. At most ``2 * n_buckets + 2`` finite points come back
    (first and last point included so the line spans the whole range).
    """
    n = len(y)
    if n_buckets < 1:
        raise ValueError("n_buckets must be >= 1")
    if n <= 2 * n_buckets:
        return np.arange(n)
    finite = np.isfinite(y)
    # Non-finite points must not win a bucket's min or max: they are added separately.
    lo_y = np.where(finite, y, np.inf)
    hi_y = np.where(finite, y, -np.inf)
    size = n // n_buckets
    full = size * n_buckets
    starts = np.arange(n_buckets) * size
    mins = lo_y[:full].reshape(n_buckets, size).argmin(axis=1) + starts
    maxs = hi_y[:full].reshape(n_buckets, size).argmax(axis=1) + starts
    parts = [mins, maxs, np.flatnonzero(~finite), np.array([0, n - 1])]
    if full < n:  # the remainder forms one short last bucket
        parts.append(np.array([full + lo_y[full:].argmin(), full + hi_y[full:].argmax()]))
    return np.unique(np.concatenate(parts))


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
    window = y[lo_ext:hi_ext]
    picked = minmax_indices(window, max(1, max_points // 2)) + lo_ext
    return Selection(picked, in_range, len(picked) < hi_ext - lo_ext)


@dataclass
class BlockPlan:
    """How to answer a request over a blocked series.

    ``raw``: sorted indices of the blocks whose raw points to read. ``extremes``: True when the
    other touched blocks are represented by their min, max and first non-finite point (then
    ``touched`` marks them and ``unread_in_range`` counts the real points they hold in range,
    whole blocks, an upper bound for the few cut by an edge).
    """

    raw: np.ndarray
    extremes: bool
    touched: np.ndarray
    unread_in_range: int


def plan_blocks(x_lo: np.ndarray, x_hi: np.ndarray, n: np.ndarray, x_min: float | None, x_max: float | None,
                raw_limit: int, step_min: np.ndarray | None = None, step_max: np.ndarray | None = None,
                after_step: int | None = None, edge_blocks: int = 2) -> BlockPlan:
    """Choose the blocks a request reads raw, given each block's x interval and point count.

    A block is touched when [x_lo, x_hi] meets [x_min, x_max] and, with ``after_step``, when
    its ``step_max`` is beyond it (blocks are chosen by their ranges, so steps that go back
    and forth lose nothing). If the touched blocks hold at most ``raw_limit`` points they are
    all read raw, plus the nearest block beyond each edge of an x range (the point drawn past
    the edge is then the real neighbour). Otherwise the answer is block extremes, and the at
    most ``edge_blocks`` blocks cut by the range edges are read raw so the line is exact where
    the chart cuts it.
    """
    count = len(n)
    touch = np.ones(count, dtype=bool)
    inside = np.ones(count, dtype=bool)
    if x_min is not None:
        touch &= x_hi >= x_min
        inside &= x_lo >= x_min
    if x_max is not None:
        touch &= x_lo <= x_max
        inside &= x_hi <= x_max
    if after_step is not None:
        if step_min is None or step_max is None:
            raise ValueError("after_step needs step_min and step_max")
        touch &= step_max > after_step
        inside &= step_min > after_step
    inside &= touch
    if int(n[touch].sum()) <= raw_limit:
        raw = touch.copy()
        if after_step is None:
            if x_min is not None and (below := np.flatnonzero(x_hi < x_min)).size:
                raw[below[np.argmax(x_hi[below])]] = True
            if x_max is not None and (above := np.flatnonzero(x_lo > x_max)).size:
                raw[above[np.argmin(x_lo[above])]] = True
        return BlockPlan(np.flatnonzero(raw), False, touch, 0)
    partial = np.flatnonzero(touch & ~inside)
    raw_idx = partial if len(partial) <= edge_blocks else partial[:0]
    unread = touch.copy()
    unread[raw_idx] = False
    return BlockPlan(raw_idx, True, touch, int(n[unread].sum()))
