"""Min/max bucket downsampling keeps spikes and non-finite points and refines on zoom; block plans."""

from __future__ import annotations

import numpy as np
import pytest

from seetrain.server.downsample import minmax_indices, select


def test_small_series_is_returned_whole() -> None:
    y = np.arange(10.0)
    assert minmax_indices(y, 10).tolist() == list(range(10))


def test_spikes_and_nonfinite_points_survive() -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(0, 0.01, 1_000_000)
    y[123_457] = 50.0
    y[654_321] = -50.0
    y[10] = np.nan
    y[999_998] = np.inf
    idx = minmax_indices(y, 500)
    assert {123_457, 654_321, 10, 999_998, 0, 999_999} <= set(idx.tolist())
    assert np.all(np.diff(idx) > 0)  # x order, no duplicates


@pytest.mark.parametrize("n,buckets", [(1001, 7), (1_000_000, 1000), (12_345, 100), (5, 1)])
def test_bucket_count_bounds_the_output(n: int, buckets: int) -> None:
    y = np.sin(np.arange(n) / 7.0)
    idx = minmax_indices(y, buckets)
    assert len(idx) <= 2 * buckets + 4
    assert idx[0] == 0 and idx[-1] == n - 1


def test_each_bucket_min_and_max_are_kept() -> None:
    y = np.array([3, 1, 2, 9, 5, 4, 0, 8, 7, 6, 5, 5], dtype=float)
    idx = minmax_indices(y, 3).tolist()  # buckets of 4: [3 1 2 9] [5 4 0 8] [7 6 5 5]
    assert {1, 3, 6, 7} <= set(idx)
    assert y[idx].min() == 0 and y[idx].max() == 9


def test_zoom_refines_to_raw_points() -> None:
    x = np.arange(100_000, dtype=float)
    y = np.cos(x / 100.0)
    full = select(x, y, 200)
    assert full.downsampled and full.in_range == 100_000 and len(full.indices) <= 204
    zoom = select(x, y, 200, x_min=5000, x_max=5050)
    assert not zoom.downsampled and zoom.in_range == 51
    assert x[zoom.indices].tolist() == list(range(4999, 5052))  # every raw point, one neighbour each side


def test_empty_range_and_bad_arguments() -> None:
    x = np.arange(10, dtype=float)
    assert select(x, x, 10, x_min=100, x_max=200).indices.tolist() == [9]
    assert select(x[:0], x[:0], 10).indices.tolist() == []
    with pytest.raises(ValueError):
        select(x, x, 1)
    with pytest.raises(ValueError):
        select(x, x, 10, x_min=5, x_max=1)
    with pytest.raises(ValueError):
        minmax_indices(x, 0)


# ---- buckets of equal x width (issue 13: a zoomed mix of dense and sparse points) ---------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra.numpy import arrays  # noqa: E402


@st.composite
def _series(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, int]:
    n = draw(st.integers(3, 400))
    gaps = draw(arrays(np.float64, n, elements=st.sampled_from([0.0, 1.0, 1.0, 2.0, 50.0, 1000.0])))
    x = np.cumsum(gaps)
    y = draw(arrays(np.float64, n, elements=st.one_of(
        st.floats(-1e6, 1e6, allow_nan=False), st.sampled_from([np.nan, np.inf, -np.inf]))))
    return x, y, draw(st.integers(1, 40))


@settings(max_examples=300, deadline=None)
@given(_series())
def test_no_x_bucket_gets_more_than_its_min_and_max(case: tuple[np.ndarray, np.ndarray, int]) -> None:
    x, y, buckets = case
    idx = minmax_indices(y, buckets, x)
    assert np.all(np.diff(idx) > 0)  # x order, no duplicates
    assert set(np.flatnonzero(~np.isfinite(y)).tolist()) <= set(idx.tolist())  # NaN/inf always kept
    finite = np.isfinite(y)
    if len(y) <= 2 * buckets:
        assert idx.tolist() == list(range(len(y)))
        return
    if finite.any():  # the spikes: the global extremes survive
        assert y[finite].max() in y[idx] and y[finite].min() in y[idx]
    span = x[-1] - x[0]
    kept = idx[np.isfinite(y[idx])]
    kept = kept[(kept != 0) & (kept != len(y) - 1)]  # the two end points are extra
    if span > 0:
        def grid_of(xs: np.ndarray) -> np.ndarray:  # bucket b: x in [x0 + b w, x0 + (b+1) w), w = span/n
            return np.minimum(np.floor((xs - x[0]) * (buckets / span)).astype(int), buckets - 1)

        grid = grid_of(x[kept])
        # Every bucket of width range/n keeps at most its min and its max point (at most 2)...
        assert np.bincount(grid, minlength=buckets).max() <= 2
        # ...and every bucket holding a finite point keeps at least one.
        all_grid = grid_of(x[finite])
        with_points = set(all_grid.tolist()) - {0, buckets - 1}
        assert with_points <= set(grid.tolist()) | {0, buckets - 1}


def test_zoomed_mix_of_dense_and_sparse_points_is_spread_evenly() -> None:
    """The issue's case: a zoomed range answered from sparse block extremes plus a dense raw
    stretch at its end; bucketing by count put 3/4 of the points in the last tenth."""
    sparse = np.arange(300_000, 390_000, 512, dtype=np.float64)  # two extremes per 1024-point block
    dense = np.arange(390_000, 400_001, dtype=np.float64)  # raw edge blocks
    x = np.concatenate([sparse, dense])
    y = np.sin(x / 777.0)
    sel = select(x, y, 430, x_min=300_000, x_max=400_000)
    chosen = x[sel.indices]
    last_tenth = np.count_nonzero(chosen >= 390_000)
    assert last_tenth <= 0.2 * len(chosen)
    assert np.diff(chosen).max() <= 2 * 100_000 / 215  # no hole wider than two buckets
