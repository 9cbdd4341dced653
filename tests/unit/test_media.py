"""Media conversion from every accepted input, checked on the files read back."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image as PILImage

import seetrain


def _logged_image(logdir, value) -> np.ndarray:
    run = seetrain.init(project="media", logdir=str(logdir))
    run.log({"img": value})
    run.finish()
    (rec,) = seetrain.Api(logdir).run(run.id).media(key="img")
    with PILImage.open(rec.path) as im:
        return np.asarray(im)


@pytest.mark.parametrize("shape, out_shape", [((8, 6), (8, 6)), ((8, 6, 3), (8, 6, 3)), ((3, 8, 6), (8, 6, 3)),
                                              ((8, 6, 4), (8, 6, 4)), ((1, 8, 6), (8, 6)), ((8, 6, 1), (8, 6))])
def test_numpy_layouts(logdir, shape, out_shape):
    arr = np.random.default_rng(1).random(shape)
    out = _logged_image(logdir, seetrain.Image(arr))
    assert out.shape == out_shape


def test_float_images_in_unit_range_are_scaled(logdir):
    out = _logged_image(logdir, seetrain.Image(np.full((4, 4), 0.5)))
    assert out.dtype == np.uint8 and int(out[0, 0]) in (127, 128)


def test_pil_image(logdir):
    img = PILImage.new("RGB", (10, 5), (255, 0, 0))
    out = _logged_image(logdir, seetrain.Image(img))
    assert out.shape == (5, 10, 3) and tuple(out[0, 0]) == (255, 0, 0)


def test_torch_tensor_chw(logdir):
    torch = pytest.importorskip("torch")
    t = torch.zeros(3, 4, 5)
    t[1] = 1.0  # green channel
    out = _logged_image(logdir, seetrain.Image(t))
    assert out.shape == (4, 5, 3) and tuple(out[0, 0]) == (0, 255, 0)


def test_torch_tensor_is_copied_at_log_time(logdir):
    torch = pytest.importorskip("torch")
    t = torch.zeros(4, 4)
    image = seetrain.Image(t)
    t += 1.0  # the user reuses the buffer: the logged image must not change
    run = seetrain.init(project="media", logdir=str(logdir))
    run.log({"img": image})
    run.finish()
    (rec,) = seetrain.Api(logdir).run(run.id).media(key="img")
    with PILImage.open(rec.path) as im:
        assert np.asarray(im).max() == 0


def test_matplotlib_figure(logdir):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1], [0, 1])
    out = _logged_image(logdir, seetrain.Image(fig, caption="plot"))
    plt.close(fig)
    assert out.ndim == 3 and out.shape[0] > 10 and out.shape[1] > 10


def test_audio_stereo_and_int16(logdir):
    import wave

    run = seetrain.init(project="media", logdir=str(logdir))
    stereo = np.stack([np.sin(np.arange(800) / 3), np.cos(np.arange(800) / 3)])  # channels first
    run.log({"stereo": seetrain.Audio(stereo, sample_rate=8000),
             "pcm": seetrain.Audio(np.arange(100, dtype=np.int16), sample_rate=100)})
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    (st,) = view.media(key="stereo")
    with wave.open(st.path) as w:
        assert (w.getnchannels(), w.getnframes(), w.getframerate()) == (2, 800, 8000)
    (pcm,) = view.media(key="pcm")
    with wave.open(pcm.path) as w:
        assert np.array_equal(np.frombuffer(w.readframes(100), dtype=np.int16), np.arange(100, dtype=np.int16))
    assert pcm.payload["duration"] == 1.0


def test_histogram_inputs(logdir):
    run = seetrain.init(project="media", logdir=str(logdir))
    run.log({"h": seetrain.Histogram([1.0, 2.0, float("nan"), 3.0], bins=3),
             "pre": seetrain.Histogram(np_histogram=([1, 2], [0.0, 0.5, 1.0]))})
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    (h,) = view.media(key="h")
    assert h.payload["counts"] == [1, 1, 1] and h.payload["nonfinite"] == 1 and h.payload["count"] == 4
    (pre,) = view.media(key="pre")
    assert pre.payload == {"counts": [1.0, 2.0], "edges": [0.0, 0.5, 1.0]}


def test_long_text_is_truncated_with_a_warning(logdir):
    from seetrain._media import MAX_TEXT_CHARS

    run = seetrain.init(project="media", logdir=str(logdir))
    run.log({"t": seetrain.Text("x" * (MAX_TEXT_CHARS + 10))})
    run.finish()
    view = seetrain.Api(logdir).run(run.id)
    assert len(view.media(key="t")[0].payload["text"]) == MAX_TEXT_CHARS
    assert view.stats["warnings"]["media"] == 1
