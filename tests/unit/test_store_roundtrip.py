from __future__ import annotations

import math
import os
import wave

import numpy as np
import pytest

import seetrain


def test_scalars_round_trip_with_auto_and_explicit_steps(logdir):
    run = seetrain.init(project="mnist", experiment_name="baseline", description="d", tags=["cnn"],
                        config={"lr": 1e-3}, logdir=str(logdir))
    for i in range(100):
        seetrain.log({"train/loss": 1.0 / (i + 1), "train/acc": i / 100})
    seetrain.log({"val/acc": 0.9}, step=500)
    seetrain.log({"val/acc": 0.8})  # auto step continues after the explicit one
    seetrain.log_scalar("lr", 0.01, step=3)  # going backwards is accepted
    seetrain.finish()

    api = seetrain.Api(logdir)
    assert api.projects() == ["mnist"]
    view = api.run("mnist/" + run.id)
    assert (view.name, view.description, view.tags, view.status) == ("baseline", "d", ["cnn"], "finished")
    assert api.run("baseline").id == run.id
    loss = view.scalars("train/loss")
    assert [p[0] for p in loss] == list(range(100))
    assert [p[2] for p in loss] == [1.0 / (i + 1) for i in range(100)]
    assert [(s, v) for s, _, v in view.scalars("val/acc")] == [(500, 0.9), (501, 0.8)]
    assert view.scalars("lr")[0][0] == 3
    summary = view.summary
    assert summary["train/loss"]["last"] == 0.01
    assert summary["train/loss"]["min"] == 0.01 and summary["train/loss"]["max"] == 1.0
    assert summary["train/acc"]["count"] == 100
    rows = view.history()
    assert len(rows) == 102 and rows[0]["_step"] == 0 and rows[0]["train/acc"] == 0.0
    assert sorted(view.keys()) == ["lr", "train/acc", "train/loss", "val/acc"]
    assert view.point_count() == 203


def test_history_dataframe(logdir):
    pd = pytest.importorskip("pandas")
    run = seetrain.init(project="p", logdir=str(logdir))
    for i in range(5):
        run.log({"a": i, "b": i * 2})
    run.finish()
    df = seetrain.Api(logdir).run(run.id).history_df()
    assert isinstance(df, pd.DataFrame)
    assert list(df["b"]) == [0, 2, 4, 6, 8]


def test_nan_and_inf_are_stored_as_such_and_flagged(logdir):
    run = seetrain.init(project="p", logdir=str(logdir))
    for v in (1.0, float("nan"), float("inf"), -float("inf"), 2.0):
        run.log({"loss": v})
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    values = [v for _, _, v in view.scalars("loss")]
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == math.inf and values[3] == -math.inf
    entry = view.summary["loss"]
    assert entry["nonfinite"] == 3 and entry["min"] == 1.0 and entry["max"] == 2.0 and entry["last"] == 2.0


def test_numpy_and_torch_scalars(logdir):
    run = seetrain.init(project="p", logdir=str(logdir))
    run.log({"np32": np.float32(0.5), "np64": np.float64(0.25), "npint": np.int64(3), "flag": True,
             "arr1": np.array([7.0])})
    torch = pytest.importorskip("torch")
    run.log({"t": torch.tensor(1.5), "t1": torch.tensor([2.5])})
    run.finish()
    s = seetrain.Api(logdir).run(run.id).summary
    assert {k: s[k]["last"] for k in s} == {"np32": 0.5, "np64": 0.25, "npint": 3, "flag": 1, "arr1": 7.0,
                                            "t": 1.5, "t1": 2.5}


def test_media_round_trip(logdir):
    run = seetrain.init(project="p", logdir=str(logdir))
    img = (np.random.default_rng(0).random((16, 24, 3)) * 255).astype(np.uint8)
    run.log({
        "sample": seetrain.Image(img, caption="x"),
        "speech": seetrain.Audio(np.sin(np.arange(1600) / 5), sample_rate=16000, caption="sine"),
        "note": seetrain.Text("<b>not html</b>"),
        "weights": seetrain.Histogram(np.arange(100)),
        "grid": [seetrain.Image(img), seetrain.Image(img[..., 0])],
    }, step=7)
    run.log_image("li", img, caption="c", step=8)
    run.log_audio("la", np.zeros(100), sample_rate=8000)
    run.log_text("lt", "hello")
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    images = view.media(kind="image")
    assert [(m.key, m.step) for m in images] == [("sample", 7), ("grid", 7), ("grid", 7), ("li", 8)]
    from PIL import Image as PILImage

    with PILImage.open(images[0].path) as im:
        assert im.size == (24, 16)
        assert np.array_equal(np.asarray(im), img)
    assert images[0].caption == "x" and images[0].payload == {"width": 24, "height": 16}
    (audio,) = view.media(key="speech")
    with wave.open(audio.path) as w:
        assert (w.getframerate(), w.getnframes()) == (16000, 1600)
    (note,) = view.media(key="note")
    assert note.payload["text"] == "<b>not html</b>" and note.path is None
    (hist,) = view.media(kind="histogram")
    assert sum(hist.payload["counts"]) == 100 and hist.payload["min"] == 0 and hist.payload["max"] == 99
    for m in view.media():
        if m.path:
            assert os.path.commonpath([m.path, view.dir]) == view.dir


def test_resume_continues_steps_and_summary(logdir):
    run = seetrain.init(project="p", experiment_name="first", tags=["a"], config={"a": 1}, logdir=str(logdir))
    for i in range(5):
        run.log({"loss": 10 - i})
    run.finish()
    again = seetrain.init(project="p", resume=run.id, config={"b": 2}, tags=["b"], logdir=str(logdir))
    assert (again.name, again.tags, again.created_at) == ("first", ["a", "b"], run.created_at)
    again.log({"loss": 1})
    again.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert [s for s, _, _ in view.scalars("loss")] == [0, 1, 2, 3, 4, 5]
    assert view.config == {"a": 1, "b": 2}
    assert view.summary["loss"]["count"] == 6 and view.summary["loss"]["max"] == 10


def test_resume_after_many_points_continues_after_the_largest_step(logdir):
    run = seetrain.init(project="p", logdir=str(logdir))
    for i in range(3000):  # a few level-of-detail blocks plus a tail
        run.log({"a": float(i), "b": float(-i)})
    run.log({"c": 1.0}, step=5000)
    run.log({"a": 0.0}, step=10)  # backwards: the largest step is still 5000
    run.finish()
    again = seetrain.init(project="p", resume=run.id, logdir=str(logdir))
    assert again.step == 5001
    again.finish()
