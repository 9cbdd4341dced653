"""``series_payload``: the metric answer every DataSource gives (shared by LocalSource and
DbSource through SourceBase), for any series a run can log: steps in any order, repeated steps,
NaN and the infinities. Both sources' reads are checked against each other in
tests/e2e/test_datasource_contract.py; here the shared part is checked against the contract
itself, on inputs Hypothesis varies."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from seetrain._jsonsafe import float_text
from seetrain.server.datasource import Points, series_payload, split_media_kinds

values = st.one_of(st.floats(-1e6, 1e6), st.sampled_from([math.nan, math.inf, -math.inf]))
series = st.lists(st.tuples(st.integers(0, 50), values), min_size=0, max_size=200)


def _points(logged: list[tuple[int, float]]) -> Points:
    step = np.array([s for s, _ in logged], dtype=np.int64)
    value = np.array([v for _, v in logged], dtype=np.float64)
    ts = 1000.0 + np.arange(len(logged), dtype=np.float64)  # logging order
    return Points(step, ts, value, 990.0)


@settings(max_examples=150, deadline=None)
@given(logged=series, max_points=st.integers(2, 60), after=st.one_of(st.none(), st.integers(-1, 50)))
def test_series_payload_keeps_the_contract(logged: list[tuple[int, float]], max_points: int,
                                           after: int | None) -> None:
    out = series_payload("k", "step", _points(logged), None, None, max_points, after)
    assert out["total"] == len(logged)
    assert out["last_step"] == (max(s for s, _ in logged) if logged else None)
    kept = [(i, s, v) for i, (s, v) in enumerate(logged) if after is None or s > after]
    # x order, equal steps in logging order (the time column is the logging order here).
    assert out["step"] == sorted(out["step"])
    order = [int(t - 1000.0) for t in out["time"]]
    assert all(a < b for a, b, sa, sb in zip(order, order[1:], out["step"], out["step"][1:]) if sa == sb)
    # Every point sent is a logged one, encoded: a finite value or None plus its flag.
    for i, value, flag in zip(order, out["value"], out["flag"]):
        logged_value = logged[i][1]
        assert flag == float_text(logged_value)
        assert value == (None if flag else logged_value)
    # Every non-finite point is kept; without downsampling every point is.
    sent = set(order)
    assert {i for i, _, v in kept if not math.isfinite(v)} <= sent
    assert out["downsampled"] == (len(sent) < len(kept))
    if not out["downsampled"]:
        assert sent == {i for i, _, _ in kept}
    assert out["in_range"] == len(kept) and out["start_time"] == 990.0


@given(logged=series)
def test_time_axes_start_at_the_run(logged: list[tuple[int, float]]) -> None:
    pts = _points(logged)
    absolute = series_payload("k", "time", pts, None, None, 20_000, None)
    relative = series_payload("k", "relative", pts, 10.0, None, 20_000, None)
    # Logging order is time order here: both keep it; relative x_min=10 is ts >= 1000 (all).
    assert absolute["time"] == relative["time"] == pts.ts.tolist()
    assert relative["in_range"] == len(logged)


def test_media_keys_and_event_kinds_are_split() -> None:
    pairs = [("histogram", "w"), ("image", "a"), ("image", "b"), ("llm_call", "llm_call"),
             ("llm_call", "chat"), ("model_summary", "model"), ("text", "notes")]
    assert split_media_kinds(pairs) == ({"histogram": ["w"], "image": ["a", "b"], "text": ["notes"]},
                                        ["llm_call", "model_summary"])
