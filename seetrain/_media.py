"""Media types. Constructors copy the data to CPU memory at once and never raise on bad input:
the problem is kept in ``error`` and reported (counted) by ``log``, so a bad image cannot stop
training. Encoding to files happens later, in the writer thread."""

from __future__ import annotations

import io
import os
import wave
from typing import Any

MAX_IMAGE_SIDE = 4096
MAX_TEXT_CHARS = 1_000_000
HISTOGRAM_BINS = 64


def _to_numpy(data: Any) -> Any:
    """torch tensors (any device) and array-likes to a CPU numpy array; GPU memory is released
    by copying right here, on the caller's thread."""
    import numpy as np

    if hasattr(data, "detach") and hasattr(data, "cpu"):
        data = data.detach().to("cpu")
        if str(getattr(data, "dtype", "")) in ("torch.bfloat16", "torch.float16"):
            data = data.float()
        return data.numpy().copy()
    return np.array(data, copy=True)


class Media:
    kind = "media"

    def __init__(self, caption: str | None = None) -> None:
        self.caption = None if caption is None else str(caption)
        self.error: str | None = None
        self.warning: str | None = None

    def encode(self, directory: str, stem: str) -> tuple[str | None, dict[str, Any]]:
        """Write the file (if any) into ``directory``; return (file name, JSON payload)."""
        raise NotImplementedError


class Image(Media):
    """An image from a numpy array (HW, HWC, CHW), PIL image, torch tensor or matplotlib figure."""

    kind = "image"

    def __init__(self, data: Any, caption: str | None = None, mode: str | None = None) -> None:
        super().__init__(caption)
        self._png: bytes | None = None
        self._array: Any = None
        self._pil: Any = None
        try:
            self._capture(data, mode)
        except Exception as exc:  # noqa: BLE001 - reported by log() as a counted warning
            self.error = f"cannot convert {type(data).__name__} to an image: {exc}"

    def _capture(self, data: Any, mode: str | None) -> None:
        if hasattr(data, "savefig"):  # matplotlib figure: render now, the user may reuse it
            buf = io.BytesIO()
            data.savefig(buf, format="png", bbox_inches="tight")
            self._png = buf.getvalue()
            return
        if type(data).__module__.startswith("PIL."):
            self._pil = data.copy()
            return
        if isinstance(data, (str, os.PathLike)):
            from PIL import Image as PILImage

            with PILImage.open(data) as img:
                img.load()
                self._pil = img.copy()
            return
        import numpy as np

        arr = _to_numpy(data)
        if arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4):
            arr = np.transpose(arr, (1, 2, 0))  # CHW (torch convention) to HWC
        if arr.ndim == 3 and arr.shape[-1] == 1:
            arr = arr[..., 0]
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (3, 4)):
            raise ValueError(f"expected HW, HWC or CHW with 1, 3 or 4 channels, got shape {arr.shape}")
        if arr.size == 0:
            raise ValueError("image is empty")
        if arr.dtype != np.uint8:
            arr = arr.astype(np.float64)
            arr = np.nan_to_num(arr, nan=0.0, posinf=1.0, neginf=0.0)
            if arr.max(initial=0.0) <= 1.0 and arr.min(initial=0.0) >= 0.0:
                arr = arr * 255.0
            arr = np.clip(arr, 0, 255).astype(np.uint8)
        self._array = arr

    def _to_pil(self) -> Any:
        from PIL import Image as PILImage

        if self._pil is not None:
            img = self._pil
        elif self._array is not None:
            img = PILImage.fromarray(self._array)
        else:
            img = PILImage.open(io.BytesIO(self._png or b""))
        if img.mode not in ("RGB", "RGBA", "L"):
            img = img.convert("RGBA" if "A" in img.mode else "RGB")
        if max(img.size) > MAX_IMAGE_SIDE:
            self.warning = f"image of {img.size[0]}x{img.size[1]} px downscaled to fit {MAX_IMAGE_SIDE} px"
            img = img.copy()
            img.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
        return img

    def encode(self, directory: str, stem: str) -> tuple[str | None, dict[str, Any]]:
        name = stem + ".png"
        path = os.path.join(directory, name)
        if self._png is not None and self._array is None and self._pil is None:
            img = self._to_pil()
            if self.warning is None:
                with open(path, "wb") as fh:
                    fh.write(self._png)
                return name, {"width": img.size[0], "height": img.size[1]}
        img = self._to_pil()
        img.save(path, format="PNG", compress_level=1)  # speed over size: this runs per step
        return name, {"width": img.size[0], "height": img.size[1]}


class Audio(Media):
    """Audio from a numpy array or tensor (samples, or samples x channels), stored as 16-bit WAV."""

    kind = "audio"

    def __init__(self, data: Any, sample_rate: int = 16000, caption: str | None = None) -> None:
        super().__init__(caption)
        self.sample_rate = int(sample_rate)
        self._pcm: Any = None
        try:
            import numpy as np

            if self.sample_rate <= 0:
                raise ValueError(f"sample_rate must be positive, got {sample_rate}")
            arr = _to_numpy(data)
            if arr.ndim == 2 and arr.shape[0] < arr.shape[1] and arr.shape[0] <= 8:
                arr = arr.T  # channels-first to samples x channels
            if arr.ndim not in (1, 2) or arr.size == 0:
                raise ValueError(f"expected 1-D samples or samples x channels, got shape {arr.shape}")
            if arr.dtype != np.int16:
                arr = np.nan_to_num(arr.astype(np.float64))
                arr = (np.clip(arr, -1.0, 1.0) * 32767).astype(np.int16)
            self._pcm = arr
        except Exception as exc:  # noqa: BLE001
            self.error = f"cannot convert {type(data).__name__} to audio: {exc}"

    def encode(self, directory: str, stem: str) -> tuple[str | None, dict[str, Any]]:
        name = stem + ".wav"
        channels = 1 if self._pcm.ndim == 1 else self._pcm.shape[1]
        with wave.open(os.path.join(directory, name), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(2)
            out.setframerate(self.sample_rate)
            out.writeframes(self._pcm.tobytes())
        frames = self._pcm.shape[0]
        return name, {"sample_rate": self.sample_rate, "channels": channels,
                      "duration": frames / self.sample_rate}


class Text(Media):
    """A text record (shown as text, never as HTML)."""

    kind = "text"

    def __init__(self, text: Any, caption: str | None = None) -> None:
        super().__init__(caption)
        text = text if isinstance(text, str) else str(text)
        if len(text) > MAX_TEXT_CHARS:
            self.warning = f"text of {len(text)} chars truncated to {MAX_TEXT_CHARS}"
            text = text[:MAX_TEXT_CHARS]
        self.text = text

    def encode(self, directory: str, stem: str) -> tuple[str | None, dict[str, Any]]:
        return None, {"text": self.text}


class Histogram(Media):
    """A histogram of values (numpy, list or tensor), or a precomputed ``np_histogram=(counts, edges)``."""

    kind = "histogram"

    def __init__(self, values: Any = None, bins: int = HISTOGRAM_BINS,
                 np_histogram: tuple[Any, Any] | None = None, caption: str | None = None) -> None:
        super().__init__(caption)
        self.payload: dict[str, Any] = {}
        try:
            import numpy as np

            if np_histogram is not None:
                counts, edges = (np.asarray(a, dtype=np.float64) for a in np_histogram)
                if len(edges) != len(counts) + 1:
                    raise ValueError("np_histogram edges must be one longer than counts")
                self.payload = {"counts": counts.tolist(), "edges": edges.tolist()}
                return
            arr = _to_numpy(values).astype(np.float64).ravel()
            finite = arr[np.isfinite(arr)]
            nonfinite = int(arr.size - finite.size)
            if finite.size == 0:
                raise ValueError("no finite values")
            counts, edges = np.histogram(finite, bins=int(bins))
            self.payload = {
                "counts": counts.tolist(), "edges": edges.tolist(), "count": int(arr.size),
                "min": float(finite.min()), "max": float(finite.max()),
                "mean": float(finite.mean()), "std": float(finite.std()), "nonfinite": nonfinite,
            }
        except Exception as exc:  # noqa: BLE001
            self.error = f"cannot build a histogram from {type(values).__name__}: {exc}"

    def encode(self, directory: str, stem: str) -> tuple[str | None, dict[str, Any]]:
        return None, self.payload


class Event(Media):
    """A structured record that is neither a scalar nor a file, e.g. one LLM call or a table."""

    def __init__(self, kind: str, payload: dict[str, Any]) -> None:
        super().__init__(None)
        self.kind = kind
        self.payload = payload

    def encode(self, directory: str, stem: str) -> tuple[str | None, dict[str, Any]]:
        return None, self.payload

