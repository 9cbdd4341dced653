"""Bad input never crashes training and never corrupts the store: each kind gets a clear,
counted warning (or an exception in strict mode), and the good values in the same call land."""

from __future__ import annotations

import numpy as np
import pytest

import seetrain
from seetrain import InvalidValueError, SeeTrainWarning

BAD_INPUTS = [
    ("string value", {"s": "text"}, "value", "is a string"),
    ("None value", {"n": None}, "value", "unsupported type"),
    ("object value", {"o": object()}, "value", "unsupported type"),
    ("multi-element array", {"a": np.zeros(3)}, "value", "unsupported type"),
    ("non-string key", {3: 1.0}, "key", "must be a string"),
    ("empty key", {"": 1.0}, "key", "is empty"),
    ("blank key", {"  ": 1.0}, "key", "is empty"),
    ("control character in key", {"a$b\n": 1.0}, "key", "control character"),
    ("lone surrogate in key", {"loss\udcff": 1.0}, "key", "control character"),
    ("integer too large for a float", {"big": 10**400}, "value", "too large"),
    ("over-long key", {"k" * 300: 1.0}, "key", "longer than"),
    ("wrong image shape", {"img": seetrain.Image(np.zeros((2, 3, 4, 5)))}, "media", "expected HW"),
    ("empty image", {"img": seetrain.Image(np.zeros((0, 0)))}, "media", "expected HW|empty"),
    ("image from garbage", {"img": seetrain.Image("no-such-file.png")}, "media", "cannot convert"),
    ("audio with bad rate", {"au": seetrain.Audio(np.zeros(10), sample_rate=0)}, "media", "sample_rate"),
    ("histogram of nothing", {"h": seetrain.Histogram([])}, "media", "no finite values"),
]


@pytest.mark.parametrize("label, data, kind, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_a_counted_warning_and_good_values_land(logdir, label, data, kind, message):
    run = seetrain.init(project="bad", logdir=str(logdir))
    with pytest.warns(SeeTrainWarning, match=message):
        run.log({**data, "good": 1.0})
    assert run.get_stats()["warnings"][kind] == 1
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert view.summary["good"]["last"] == 1.0
    assert view.stats["warnings"][kind] == 1


@pytest.mark.parametrize("label, data, kind, message", BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_strict_mode_raises_a_clear_error(logdir, label, data, kind, message):
    run = seetrain.init(project="bad", logdir=str(logdir), strict=True)
    with pytest.raises(InvalidValueError, match=message):
        run.log(data)


def test_same_problem_warns_once_but_counts_every_time(logdir, recwarn):
    run = seetrain.init(project="bad", logdir=str(logdir))
    for _ in range(5):
        run.log({"s": "x"})
    assert len([w for w in recwarn if issubclass(w.category, SeeTrainWarning)]) == 1
    assert run.get_stats()["warnings"]["value"] == 5


def test_non_dict_and_bad_step(logdir):
    run = seetrain.init(project="bad", logdir=str(logdir))
    with pytest.warns(SeeTrainWarning, match="takes a dict"):
        run.log([1, 2, 3])
    with pytest.warns(SeeTrainWarning, match="step must be an integer"):
        run.log({"a": 1.0}, step="ten")
    run.log({"a": 1.5}, step=2**63)  # the same kind of problem: counted, warned once
    run.log({"a": 2.0}, step=np.int64(7))
    run.log({"a": 3.0}, step=8.0)
    run.log({"a": 4.0})  # the auto step goes on after the largest step
    run.log({"a": 5.0}, step=-(2**63))
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert [(s, v) for s, _, v in view.scalars("a")] == [(7, 2.0), (8, 3.0), (9, 4.0), (-(2**63), 5.0)]
    assert view.stats["points_refused"] == 2 and view.stats["warnings"]["step"] == 2


def test_huge_image_is_downscaled_with_a_counted_warning(logdir, caplog):
    run = seetrain.init(project="bad", logdir=str(logdir))
    run.log({"big": seetrain.Image(np.zeros((5000, 100), dtype=np.uint8))})
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    (rec,) = view.media(key="big")
    assert max(rec.payload["width"], rec.payload["height"]) == 4096
    assert view.stats["warnings"]["media"] == 1
    assert "downscaled" in caplog.text


def test_log_after_finish_warns_and_is_ignored(logdir):
    run = seetrain.init(project="bad", logdir=str(logdir))
    run.finish()
    with pytest.warns(SeeTrainWarning, match="finished"):
        run.log({"a": 1})


def test_log_before_init_is_a_clear_error():
    with pytest.raises(seetrain.NotInitializedError, match="seetrain.init"):
        seetrain.log({"a": 1})
