"""Property-based: any sequence of keys (any Unicode), values (finite, NaN, +-inf, None, wrong
types, numpy scalars), steps (backwards, huge) and flush timings. Invariant: every accepted
point comes back exactly once, in order, and every refused one is counted."""

from __future__ import annotations

import math
import unicodedata
import warnings
from collections import defaultdict

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import seetrain

KEYS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["loss", "训练/损失", "訓練/精度", "λ", "val loss", "", "  ", "a\x00b", "tab\tkey",
                     "x" * 256, "y" * 257, "\udcff"]),
    st.integers(-3, 3),
)
VALUES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**1100), max_value=2**1100),
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.floats(width=32).map(np.float32),
    st.integers(-(2**62), 2**62).map(np.int64),
)
STEPS = st.one_of(st.none(), st.integers(min_value=-(2**64), max_value=2**64), st.just(2**63 - 1),
                  st.just(-(2**63)))
CALLS = st.lists(st.tuples(st.dictionaries(KEYS, VALUES, max_size=5), STEPS, st.booleans()), max_size=25)


def key_ok(key: object) -> bool:
    return (isinstance(key, str) and bool(key.strip()) and len(key) <= 256
            and not any(unicodedata.category(c) in ("Cc", "Cs") for c in key))


def as_float(value: object) -> float | None:
    if value is None or isinstance(value, str):
        return None
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        return None


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(calls=CALLS)
def test_every_accepted_point_back_exactly_once(tmp_path_factory, calls):
    logdir = tmp_path_factory.mktemp("prop")
    expected: dict[str, list[tuple[int, float]]] = defaultdict(list)
    refused = 0
    next_step = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", seetrain.SeeTrainWarning)
        run = seetrain.init(project="prop", logdir=str(logdir))
        for data, step, flush in calls:
            run.log(data, step=step)
            if flush:
                run.flush()
            if step is None:
                s, next_step = next_step, next_step + 1
                if s >= 2**63:  # the automatic step ran past int64 after a huge explicit one
                    refused += len(data)
                    continue
            elif -(2**63) <= step < 2**63:
                s = step
                next_step = max(next_step, s + 1)
            else:
                refused += len(data)
                continue
            for key, value in data.items():
                number = as_float(value) if key_ok(key) else None
                if number is None:
                    refused += 1
                else:
                    expected[key].append((s, number))
        run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert sorted(view.keys()) == sorted(expected)
    for key, points in expected.items():
        got = [(s, v) for s, _, v in view.scalars(key)]
        assert [s for s, _ in got] == [s for s, _ in points]
        assert all(same(a, b) for (_, a), (_, b) in zip(got, points))
    stats = view.stats
    assert stats["points_refused"] == refused
    assert stats["points_written"] == stats["points_logged"] == sum(len(p) for p in expected.values())
