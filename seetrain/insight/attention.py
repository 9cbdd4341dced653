"""``seetrain.watch_attention(model)``: attention maps and their statistics, sampled.

On every ``every``-th forward pass of ``model`` the chosen attention layers are asked for their
per-head weights, the weights of the first example in the batch are copied to the CPU at once,
and a background thread turns them into statistics (entropy, max weight, sparsity) and, in
``mode="full"``, one heatmap image per head. Other forward passes pay one Python call.

Supported layers: ``torch.nn.MultiheadAttention`` (including inside ``nn.TransformerEncoderLayer``
and ``DecoderLayer`` in training mode; their inference fast path bypasses the module and is not
seen), and any module whose output tuple carries the weights as a 3-D ``(batch, query, key)`` or
4-D ``(batch, heads, query, key)`` tensor after the first element (e.g. Hugging Face attention
modules run with ``output_attentions=True`` and eager attention). For ``MultiheadAttention`` the
monitor switches ``need_weights`` on for the sampled pass only and hands the caller exactly the
output it asked for.

Keys, for layer ``i`` (its index among the attention layers found): ``attention/layer{i}/entropy``,
``.../max_weight``, ``.../sparsity`` (means over heads), ``attention/layer{i}/head{h}/entropy``
and, in full mode, the image ``attention/layer{i}/head{h}``. They are logged at the step the
user's next ``log`` gets, without moving the step counter.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from seetrain._exit import background_thread

if TYPE_CHECKING:
    import torch

log = logging.getLogger("seetrain.attention")

MODES = ("full", "light")
MAX_SIDE = 128  # heatmaps are cropped to the first 128 queries and keys
MIN_PIXELS = 96  # small maps are scaled up (nearest neighbour) so one cell is visible
_watchers: dict[int, AttentionWatcher] = {}


def _find_layers(model: Any) -> list[tuple[str, Any]]:
    import torch

    found = [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.MultiheadAttention)]
    if found:
        return found
    return [(n, m) for n, m in model.named_modules() if type(m).__name__.endswith("Attention")]


class AttentionWatcher:
    """Hooks on one model's attention layers plus the background worker that logs."""

    def __init__(self, model: Any, run: Any, every: int, layers: Sequence[int] | None, mode: str,
                 modules: Sequence[Any] | None = None, max_heads: int = 16,
                 sparsity_threshold: float = 0.01, prefix: str = "attention") -> None:
        import torch

        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.model = model
        self.run = run
        self.every = max(int(every), 1)
        self.mode = mode
        self.max_heads = max_heads
        self.threshold = sparsity_threshold
        self.prefix = prefix
        self.calls = 0
        self.sampling = False
        self.step = 0
        self.captured = 0
        self._asked: dict[int, dict[str, bool]] = {}  # what the caller wanted, per module
        candidates = ([(getattr(m, "_get_name", lambda m=m: type(m).__name__)(), m) for m in modules]
                      if modules is not None else _find_layers(model))
        if not candidates:
            raise ValueError("no attention layer found: pass modules=[...] explicitly")
        chosen: dict[int, tuple[str, Any]] = {}
        for idx in (range(len(candidates)) if layers is None else layers):
            pos = idx % len(candidates)  # -1 is the last layer
            chosen[pos] = candidates[pos]
        self.layers = {pos: name for pos, (name, _) in sorted(chosen.items())}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._worker = background_thread(self._work, "seetrain-attention")
        self._worker.start()
        self._handles = [model.register_forward_pre_hook(self._begin)]
        for pos, (_, module) in sorted(chosen.items()):
            if isinstance(module, torch.nn.MultiheadAttention):
                self._handles.append(module.register_forward_pre_hook(self._ask_weights, with_kwargs=True))
            self._handles.append(module.register_forward_hook(self._capture_hook(pos), with_kwargs=True))
        # Registered last: when ``model`` is itself an attention layer, capture runs first.
        self._handles.append(model.register_forward_hook(self._end))
        self._closed = False
        run.on_finish(lambda _run: self.remove())

    # ---- sampling ----------------------------------------------------------------------------
    def _begin(self, module: Any, inputs: Any) -> None:
        if self._asked:  # left by a pass that raised: must not alter this pass's output
            self._asked.clear()
        self.sampling = self.calls % self.every == 0 and not getattr(self.run, "finished", False)
        self.calls += 1
        if self.sampling:
            self.step = int(getattr(self.run, "step", 0))

    def _end(self, module: Any, inputs: Any, output: Any) -> None:
        self.sampling = False

    def _ask_weights(self, module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if not self.sampling:
            return None
        call = list(args)
        # MultiheadAttention.forward(query, key, value, key_padding_mask, need_weights,
        # attn_mask, average_attn_weights, is_causal): positional or keyword, keep the caller's form.
        asked = {"need_weights": True, "average_attn_weights": True}
        for pos, name in ((4, "need_weights"), (6, "average_attn_weights")):
            if len(call) > pos:
                asked[name] = bool(call[pos])
                call[pos] = name == "need_weights"
            else:
                asked[name] = bool(kwargs.get(name, asked[name]))
                kwargs[name] = name == "need_weights"
        self._asked[id(module)] = asked
        return tuple(call), kwargs

    def _capture_hook(self, pos: int) -> Any:
        def hook(module: Any, args: tuple, kwargs: dict, output: Any) -> Any:
            asked = self._asked.pop(id(module), None)
            if self.sampling:
                self._capture(pos, output)
            if asked is None or not isinstance(output, tuple):
                return None
            out, weights = output[0], output[1]
            if not asked["need_weights"]:
                return out, None
            if asked["average_attn_weights"] and weights is not None and weights.dim() == 4:
                return out, weights.mean(dim=1)
            return None
        return hook

    def _capture(self, pos: int, output: Any) -> None:
        try:
            weights = _weights_of(output)
            if weights is not None:
                # Copy now: the tensor may live on a GPU and be freed after this pass.
                self._queue.put((pos, self.step, weights[0].detach().to("cpu", copy=True).float()))
                self.captured += 1
        except Exception:  # noqa: BLE001 - the monitor must never break training
            self.run.stats["attention_errors"] += 1
            log.warning("seetrain: attention capture failed", exc_info=True)

    # ---- background: statistics and images -----------------------------------------------------
    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                self._log(*item)
            except Exception:  # noqa: BLE001
                self.run.stats["attention_errors"] += 1
                log.warning("seetrain: attention statistics failed", exc_info=True)

    def _log(self, pos: int, step: int, weights: torch.Tensor) -> None:
        if weights.dim() == 2:
            weights = weights.unsqueeze(0)  # one head
        heads = weights[: self.max_heads]
        entropy = -(heads * (heads + 1e-12).log()).sum(-1).mean(-1)
        max_weight = heads.max(-1).values.mean(-1)
        sparsity = (heads < self.threshold).float().mean(dim=(-1, -2))
        prefix = f"{self.prefix}/layer{pos}"
        data: dict[str, Any] = {f"{prefix}/entropy": float(entropy.mean()),
                                f"{prefix}/max_weight": float(max_weight.mean()),
                                f"{prefix}/sparsity": float(sparsity.mean())}
        for h, value in enumerate(entropy.tolist()):
            data[f"{prefix}/head{h}/entropy"] = value
        if self.mode == "full":
            from seetrain._media import Image

            for h in range(heads.shape[0]):
                data[f"{prefix}/head{h}"] = Image(_heatmap(heads[h]),
                                                  caption=f"{self.layers[pos]} head {h}, step {step}")
        self.run.log_side(data, step)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything captured so far has been logged."""
        if self._closed or not self._worker.is_alive():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    # ---- teardown ------------------------------------------------------------------------------
    def remove(self, timeout: float = 30.0) -> None:
        """Take the hooks off and log whatever was captured but not yet logged."""
        if self._closed:
            return
        self._closed = True
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._queue.put(None)
        if self._worker is not threading.current_thread():
            self._worker.join(timeout)
        if _watchers.get(id(self.model)) is self:
            del _watchers[id(self.model)]


def _weights_of(output: Any) -> Any:
    if not isinstance(output, (tuple, list)):
        return None
    for item in output[1:]:
        if hasattr(item, "dim") and item.dim() in (3, 4):
            return item
    return None


def _heatmap(weights: Any) -> Any:
    """A (query x key) map to an 8-bit grey image, white = most attention, upscaled when tiny."""
    import numpy as np

    arr = weights[:MAX_SIDE, :MAX_SIDE].numpy()
    top = float(arr.max()) or 1.0
    img = (arr / top * 255.0).clip(0, 255).astype(np.uint8)
    scale = max(1, MIN_PIXELS // max(img.shape))
    if scale > 1:
        img = img.repeat(scale, axis=0).repeat(scale, axis=1)
    return img


def watch_attention(model: Any, every: int = 100, layers: Sequence[int] | None = (0, -1),
                    mode: str = "full", run: Any = None, modules: Sequence[Any] | None = None,
                    max_heads: int = 16, sparsity_threshold: float = 0.01,
                    prefix: str = "attention") -> AttentionWatcher | None:
    """Log attention statistics (and, with ``mode="full"``, per-head heatmaps) of the attention
    layers at positions ``layers`` (None: all) every ``every`` forward passes of ``model``.
    ``mode="light"`` logs statistics only. ``modules`` names the attention modules explicitly
    when they cannot be found by type; ``prefix`` separates the keys of two watched models. Stops when the run finishes or on :func:`unwatch_attention`."""
    from seetrain.insight.watch import _current_run

    run = _current_run(run)
    if getattr(run, "_writer", None) is None:  # disabled run
        return None
    unwatch_attention(model)
    watcher = AttentionWatcher(model, run, every, layers, mode, modules, max_heads, sparsity_threshold,
                               prefix)
    _watchers[id(model)] = watcher
    return watcher


def unwatch_attention(model: Any = None) -> None:
    """Stop watching ``model`` (every watched model if None)."""
    targets = list(_watchers.values()) if model is None else [w for w in [_watchers.get(id(model))] if w]
    for watcher in targets:
        watcher.remove()
