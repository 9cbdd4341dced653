"""``seetrain.watch(model)``: gradient and parameter statistics and a model summary for PyTorch.

How it stays cheap: one forward pre-hook on the root module counts training forward passes.
Only on every ``log_freq``-th pass are per-parameter gradient hooks
(``register_post_accumulate_grad_hook``) attached; they compute a norm and a 64-bin histogram on
the parameter's device, keep the small results, and are removed again at the next forward pass,
where the numbers are copied to the CPU and logged. Steps in between pay one Python call.

Keys: ``gradients/norm/total``, ``gradients/norm/<param>``, ``gradients/hist/<param>``, and the
same under ``parameters/``. They are logged (``Run.log_side``) at the step the user's next ``log``
will get, without advancing the step counter. The model summary is an event of kind ``model_summary``.
"""

from __future__ import annotations

import logging
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

log = logging.getLogger("seetrain.watch")

LOG_CHOICES = ("gradients", "parameters", "all", None)
HIST_BINS = 64
_watchers: weakref.WeakKeyDictionary[Any, Watcher] = weakref.WeakKeyDictionary()


def _current_run(run: Any) -> Any:
    if run is not None:
        return run
    from seetrain._current_run import get_run

    current = get_run()
    if current is None:
        from seetrain._errors import NotInitializedError

        raise NotInitializedError("call seetrain.init() before seetrain.watch(), or pass run=")
    return current


def _shape(value: Any) -> Any:
    shape = getattr(value, "shape", None)
    if shape is not None:
        return list(shape)
    if isinstance(value, (list, tuple)):
        shapes = [_shape(v) for v in value]
        shapes = [s for s in shapes if s is not None]
        if not shapes:
            return None
        return shapes[0] if len(shapes) == 1 else shapes
    if isinstance(value, dict):
        return _shape(list(value.values()))
    return None


def _current_step(run: Any) -> int:
    """The step the user's next ``log`` will get: in a loop that logs once per iteration, the
    statistics of an iteration land on the same step as its loss."""
    return int(getattr(run, "step", 0))


class Watcher:
    """Hooks on one model. Made by :func:`watch`; removed by :func:`unwatch`."""

    def __init__(self, model: torch.nn.Module, run: Any, log_what: str | None, log_freq: int,
                 summary: bool = True) -> None:
        if log_what not in LOG_CHOICES:
            raise ValueError(f"log must be one of {LOG_CHOICES}")
        self.model = model
        self.run = run
        self.grads = log_what in ("gradients", "all")
        self.params = log_what in ("parameters", "all")
        self.log_freq = max(int(log_freq), 1)
        self.calls = 0
        self.named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
        self._grad_handles: list[Any] = []
        self._grad_results: dict[str, tuple[Any, Any, Any, Any]] = {}
        self._grad_step = 0
        self._summary_handles: list[Any] = []
        self._summary_rows: dict[str, dict[str, Any]] = {}
        self._handles = [model.register_forward_pre_hook(self._on_forward)]
        self._want_summary = summary
        run.on_finish(lambda _run: self.remove())

    # ---- per forward pass ----------------------------------------------------------------
    def _on_forward(self, module: Any, inputs: Any) -> None:
        try:
            self._forward(module)
        except Exception:  # noqa: BLE001 - watching must never break training
            self.run.stats["watch_errors"] += 1
            log.warning("seetrain: watch() failed; training goes on", exc_info=True)

    def _forward(self, module: Any) -> None:
        import torch

        if self._grad_results or self._grad_handles:
            self._flush_gradients()
        if self._want_summary:
            self._want_summary = False
            self._start_summary()
        if not (module.training and torch.is_grad_enabled()):
            return
        sampled = self.calls % self.log_freq == 0
        self.calls += 1
        if not sampled or getattr(self.run, "finished", False):
            return
        step = _current_step(self.run)
        if self.params:
            self._log_tensors("parameters", [(n, p.detach()) for n, p in self.named], step)
        if self.grads:
            self._grad_step = step
            self._grad_handles = [p.register_post_accumulate_grad_hook(self._grad_hook(n))
                                  for n, p in self.named]

    # ---- gradients -------------------------------------------------------------------------
    def _grad_hook(self, name: str) -> Any:
        def hook(param: Any) -> None:
            grad = param.grad
            if grad is None:
                return
            try:
                self._grad_results[name] = _stats(grad.detach())
            except Exception:  # noqa: BLE001 - an error here would abort the user's backward()
                self.run.stats["watch_errors"] += 1
                log.warning("seetrain: gradient statistics for %s failed", name, exc_info=True)
        return hook

    def _flush_gradients(self) -> None:
        for handle in self._grad_handles:
            handle.remove()
        self._grad_handles = []
        results, self._grad_results = self._grad_results, {}
        if results and not getattr(self.run, "finished", False):
            self._log_results("gradients", results, self._grad_step)

    def _log_tensors(self, prefix: str, tensors: list[tuple[str, Any]], step: int) -> None:
        import torch

        with torch.no_grad():
            results = {name: _stats(t) for name, t in tensors}
        self._log_results(prefix, results, step)

    def _log_results(self, prefix: str, results: dict[str, tuple[Any, Any, Any, Any]], step: int) -> None:
        import torch

        from seetrain._media import Histogram

        names = list(results)
        # One device-to-host copy for all norms instead of one sync per parameter.
        norms = torch.stack([results[n][0].float().cpu() for n in names]).tolist()
        data: dict[str, Any] = {f"{prefix}/norm/total": float(sum(v * v for v in norms) ** 0.5)}
        for name, norm in zip(names, norms):
            data[f"{prefix}/norm/{name}"] = norm
            counts, lo, hi = results[name][1:]
            counts = counts.cpu().numpy()
            lo, hi = float(lo), float(hi)
            if not lo <= hi:  # no finite value at all: a norm, no histogram
                continue
            if hi == lo:
                hi = lo + 1e-12
            edges = [lo + (hi - lo) * i / len(counts) for i in range(len(counts) + 1)]
            data[f"{prefix}/hist/{name}"] = Histogram(np_histogram=(counts, edges))
        self.run.log_side(data, step)

    # ---- model summary -------------------------------------------------------------------
    def _start_summary(self) -> None:
        for name, mod in self.model.named_modules():
            own = int(sum(p.numel() for p in mod.parameters(recurse=False)))
            if next(mod.children(), None) is not None and not own:
                continue  # leaf modules, and containers with weights of their own (MultiheadAttention)
            row = {"name": name or type(mod).__name__, "type": type(mod).__name__,
                   "params": own,
                   "input_shape": None, "output_shape": None}
            self._summary_rows[name] = row
            self._summary_handles.append(mod.register_forward_hook(self._summary_hook(row)))
        self._summary_handles.append(self.model.register_forward_hook(self._end_summary))

    @staticmethod
    def _summary_hook(row: dict[str, Any]) -> Any:
        def hook(module: Any, inputs: Any, output: Any) -> None:
            if row["output_shape"] is None:  # a module called twice keeps its first shapes
                row["input_shape"] = _shape(inputs)
                row["output_shape"] = _shape(output)
        return hook

    def _end_summary(self, module: Any, inputs: Any, output: Any) -> None:
        for handle in self._summary_handles:
            handle.remove()
        self._summary_handles = []
        try:
            self.run.log_event("model_summary", self.summary(), step=_current_step(self.run))
        except Exception:  # noqa: BLE001
            self.run.stats["watch_errors"] += 1
            log.warning("seetrain: model summary failed", exc_info=True)

    def summary(self) -> dict[str, Any]:
        """The model summary as stored: rows per leaf module, total and trainable parameters."""
        params = list(self.model.parameters())
        return {
            "model": type(self.model).__name__,
            "rows": list(self._summary_rows.values()),
            "total_params": int(sum(p.numel() for p in params)),
            "trainable_params": int(sum(p.numel() for p in params if p.requires_grad)),
        }

    # ---- teardown --------------------------------------------------------------------------
    def remove(self) -> None:
        """Log what is pending and take every hook off the model."""
        if self._grad_results or self._grad_handles:
            try:
                self._flush_gradients()
            except Exception:  # noqa: BLE001
                log.warning("seetrain: logging the last gradients failed", exc_info=True)
        for handle in self._handles + self._summary_handles:
            handle.remove()
        self._handles = []
        self._summary_handles = []
        if _watchers.get(self.model) is self:
            del _watchers[self.model]


def _stats(t: Any) -> tuple[Any, Any, Any, Any]:
    """Norm and histogram computed where the tensor lives, without a device sync."""
    import torch

    flat = t.detach().reshape(-1).float()
    finite = torch.isfinite(flat)
    lo = torch.where(finite, flat, torch.inf).min()
    hi = torch.where(finite, flat, -torch.inf).max()
    width = (hi - lo).clamp_min(1e-12)
    idx = ((flat - lo) / width * HIST_BINS).nan_to_num(0.0, 0.0, 0.0).long().clamp_(0, HIST_BINS - 1)
    counts = torch.zeros(HIST_BINS, device=flat.device).scatter_add_(0, idx, finite.float())
    return torch.linalg.vector_norm(flat), counts, lo, hi


def watch(model: torch.nn.Module, log: str | None = "gradients", log_freq: int = 100,
          run: Any = None, summary: bool = True) -> Watcher:
    """Log gradient and/or parameter norms and histograms of a torch model every ``log_freq``
    training steps, and a model summary (leaf modules with parameter counts and shapes) from the
    first forward pass. ``log`` is ``"gradients"``, ``"parameters"``, ``"all"`` or None (summary
    only). Watching a model again replaces the previous watch. Undo with :func:`unwatch`."""
    run = _current_run(run)
    if getattr(run, "_writer", None) is None:  # disabled run: nothing to record
        return None  # type: ignore[return-value]
    previous = _watchers.get(model)
    if previous is not None:
        previous.remove()
    watcher = Watcher(model, run, log, log_freq, summary=summary)
    _watchers[model] = watcher
    return watcher


def unwatch(model: torch.nn.Module | None = None) -> None:
    """Remove the hooks that :func:`watch` put on ``model`` (on every watched model if None)."""
    targets = list(_watchers.values()) if model is None else [w for w in [_watchers.get(model)] if w]
    for watcher in targets:
        watcher.remove()

