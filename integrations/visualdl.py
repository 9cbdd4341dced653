"""VisualDL mirror: an unchanged script that writes with ``visualdl.LogWriter`` also records into SeeTrain.

    from integrations.visualdl import sync_visualdl, unsync_visualdl
    sync_visualdl(project="p")                 # or integrations.main.init_visualdl(project="p")
    with LogWriter(logdir="./log/train") as writer:
        writer.add_scalar("train/loss", 0.5, step=1)   # VisualDL file written as before, and mirrored
    unsync_visualdl()                          # originals back, runs finished

The ``LogWriter`` methods are wrapped at class level (the patch engine in
``integrations._patching``), so writers created before ``sync_visualdl()`` mirror too, and
switching the mirror on imports nothing: if VisualDL is not imported yet, the patches go in when
the script imports it. By default every writer goes to ONE SeeTrain run (the integration's);
``run_per_logdir=True`` gives one run per writer logdir, the way VisualDL lists one run per
directory. ``root_logdir`` prefixes keys (shared run) or names runs (per logdir) by the logdir
relative to it. Paddle's own ``paddle.callbacks.VisualDL`` writes through ``LogWriter``, so it
is mirrored as well. See docs/integrations/visualdl.md.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from integrations._mirror import (
    BusyFlag,
    LogdirMirror,
    MirrorIntegration,
    MirrorStack,
    PatchSet,
    Target,
    bound_arguments,
)
from integrations._patching import when_imported
from seetrain import Audio, DisabledRun, Histogram, Image, Text

__all__ = ["VisualDLIntegration", "VisualDLMirror", "sync_visualdl", "unsync", "unsync_visualdl"]

log = logging.getLogger("seetrain")

WRITER_MODULE, WRITER_CLASS = "visualdl.writer.writer", "LogWriter"  # visualdl.LogWriter is this class

_patches = PatchSet("visualdl")
_busy = BusyFlag()
_mirrors = MirrorStack("visualdl", _patches)


# ---- converting one LogWriter call into SeeTrain records ----------------------------------------
# Each builder gets the call's arguments by parameter name and returns (records, step, config).

def _array(value: Any) -> Any:
    import numpy as np

    if hasattr(value, "numpy") and not isinstance(value, np.ndarray):  # a paddle / torch tensor
        value = value.numpy()
    return np.asarray(value)


def _to_hwc(value: Any, dataformats: str) -> Any:
    import numpy as np

    arr = _array(value)
    fmt = (dataformats or "HWC").upper()
    if len(fmt) != arr.ndim or sorted(fmt) not in (sorted("HW"), sorted("CHW")):
        return arr  # let seetrain.Image apply its own HW/HWC/CHW rules
    order = "HWC" if "C" in fmt else "HW"
    return np.transpose(arr, [fmt.index(c) for c in order])


def _step(a: dict[str, Any]) -> int | None:
    step = a.get("step")
    return int(step) if step is not None else None


def _scalar(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {a["tag"]: a["value"]}, _step(a), None


def _scalars(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    main_tag = a["main_tag"]
    return {f"{main_tag}/{k}": v for k, v in a["tag_scalar_dict"].items()}, _step(a), None


def _image(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {a["tag"]: Image(_to_hwc(a["img"], a.get("dataformats") or "HWC"))}, _step(a), None


def _image_matrix(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    fmt = (a.get("dataformats") or "HWC").upper()
    batch = _array(a["imgs"])
    images = [Image(_to_hwc(batch[i], fmt)) for i in range(batch.shape[0])]
    return {a["tag"]: images}, _step(a), None


def _text(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {a["tag"]: Text(str(a["text_string"]))}, _step(a), None


def _histogram(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    buckets = a.get("buckets")
    values = _array(a["values"]).ravel()
    hist = Histogram(values, bins=int(buckets)) if isinstance(buckets, int) else Histogram(values)
    return {a["tag"]: hist}, _step(a), None


def _audio(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    sound = _array(a["audio_array"]).squeeze()
    return {a["tag"]: Audio(sound, sample_rate=int(a.get("sample_rate") or 8000))}, _step(a), None


def _figure(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {a["tag"]: Image(a["figure"])}, _step(a), None


def _hparams(a: dict[str, Any]) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    # VisualDL's add_hparams names the metrics (written by add_scalar) but holds no values.
    return {}, None, {"hparams": dict(a["hparams_dict"]), "hparams_metrics": list(a.get("metrics_list") or [])}


def _graph(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {}, None, None  # not a metric: capture() stores it as a graph record


# method -> (builder, why the patch exists)
METHODS: dict[str, tuple[Callable[[dict[str, Any]], tuple[dict[str, Any], Any, Any]], str]] = {
    "add_scalar": (_scalar, "the scalar curve (loss, lr ...) most scripts write"),
    "add_scalars": (_scalars, "several curves under one main tag, stored as main_tag/tag"),
    "add_image": (_image, "one image, converted from its dataformats to HWC"),
    "add_image_matrix": (_image_matrix, "a batch of images, stored as several images under one key"),
    "add_text": (_text, "a text record"),
    "add_histogram": (_histogram, "weight/activation distributions, with VisualDL's bucket count"),
    "add_audio": (_audio, "audio clips with their sample rate"),
    "add_figure": (_figure, "matplotlib figures, rendered to PNG"),
    "add_hparams": (_hparams, "hyperparameters to the run config"),
    "add_graph": (_graph, "the Paddle model's layer tree, stored as a graph record"),
}


def _spec_shape(spec: Any) -> Any:
    shape = getattr(spec, "shape", None)
    if shape is None:
        return None
    return {"shape": [int(d) if d is not None and int(d) >= 0 else "?" for d in shape],
            "dtype": str(getattr(spec, "dtype", "")).replace("paddle.", "")}


def paddle_graph_payload(model: Any, input_spec: Any = None) -> dict[str, Any]:
    """A ``seetrain.graph/1`` payload for a ``paddle.nn.Layer``: its layer tree with parameter
    counts and the input specs' shapes (``method`` is ``"modules"``: no op-level trace)."""
    def count(layer: Any, recurse: bool = True) -> tuple[int, int]:
        total = trainable = 0
        for p in layer.parameters(include_sublayers=recurse):
            total += int(p.size)
            trainable += 0 if p.stop_gradient else int(p.size)
        return total, trainable

    def build(path: str, layer: Any) -> dict[str, Any]:
        children = [build(f"{path}.{name}" if path else name, child) for name, child in layer.named_children()]
        return {"path": path, "type": type(layer).__name__, "params": count(layer)[0],
                "own_params": count(layer, recurse=False)[0], "children": children}

    specs = input_spec if isinstance(input_spec, (list, tuple)) else [input_spec] if input_spec is not None else []
    total, trainable = count(model)
    return {"format": "seetrain.graph/1", "framework": "paddle", "model": type(model).__name__,
            "total_params": total, "trainable_params": trainable, "inputs": [_spec_shape(s) for s in specs],
            "modules": build("", model), "method": "modules", "nodes": [], "edges": [], "op_counts": {}}


# ---- the patches ---------------------------------------------------------------------------------
def _make_wrapper(method: str) -> Callable[[Any, Any, tuple, dict], Any]:
    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        integration = current_integration()
        if integration is None or _busy.busy or not integration.enabled:
            return wrapped(*args, **kwargs)
        # Converted before the original runs: the data is copied now, whatever VisualDL does to it.
        pending = integration.guard(integration.mirror.capture, method, wrapped, instance, args, kwargs)
        if method == "add_graph" and pending is not None:
            # The layer tree does not depend on VisualDL's export, which fails with Paddle 3.x
            # (VisualDL 2.5.3 looks for a temp.pdmodel that paddle.jit.save no longer writes).
            integration.guard(pending)
            pending = None
        _busy.busy = True
        try:
            result = wrapped(*args, **kwargs)
        finally:
            _busy.busy = False
        if pending is not None:
            integration.guard(pending)
        return result

    return wrapper


def _patch_module(module: Any) -> None:
    with _mirrors.lock:
        if not _mirrors:  # switched off before VisualDL was imported
            return
        cls = getattr(module, WRITER_CLASS, None)
        if cls is None:
            log.debug("seetrain[visualdl]: %s has no %s; not mirrored", WRITER_MODULE, WRITER_CLASS)
            return
        _patches.apply([Target(cls, m, _make_wrapper(m), why) for m, (_, why) in METHODS.items()])


def _install() -> None:
    """Patch LogWriter now if VisualDL is imported, else when (if ever) it is: switching the
    mirror on never imports VisualDL (or Paddle) itself."""
    module = sys.modules.get(WRITER_MODULE)
    if module is not None:
        _patch_module(module)
    else:
        when_imported(WRITER_MODULE, _patch_module)
    _patches.active = True


def current_integration() -> VisualDLIntegration | None:
    """The VisualDL mirror that records writer calls now (the latest one switched on)."""
    return _mirrors.current()


# ---- the integration -------------------------------------------------------------------------------
class VisualDLMirror(LogdirMirror):
    """Routes each writer call to a SeeTrain run; ``VisualDLIntegration.get_backend()``."""

    section = "visualdl"
    logdir_field = "logdir"

    def writer_logdir(self, writer: Any) -> str:
        return writer.logdir

    def capture(self, method: str, wrapped: Any, instance: Any, args: tuple,
                kwargs: dict) -> Callable[[], None] | None:
        """Convert one call now; return what sends it once the original call succeeded."""
        builder = METHODS[method][0]
        arguments = bound_arguments(wrapped, args, kwargs)
        records, step, config = builder(arguments)
        run, prefix = self.run_for(instance)
        if isinstance(run, DisabledRun):
            return None
        integration = self.integration
        if method == "add_graph":
            payload = paddle_graph_payload(arguments["model"], arguments.get("input_spec"))

            def send_graph() -> None:
                run.log_event("graph", payload, key=f"{prefix}graph")
                integration.stats["records_sent"] += 1

            return send_graph
        if prefix:
            records = {prefix + key: value for key, value in records.items()}

        def send() -> None:
            if config:
                merged = {k: {**(run.config.get(k) or {}), **v} if isinstance(v, dict) else v
                          for k, v in config.items()}
                run.update_config(merged)
            if records:
                run.log(records, step=step)
            integration.stats["records_sent"] += 1

        return send


class VisualDLIntegration(MirrorIntegration):
    """Hub entry: ``init_visualdl(...)`` switches the mirror on; ``finish()`` switches it off
    (see :class:`integrations._mirror.MirrorIntegration` for the arguments)."""

    name = "visualdl"
    mirror_class = VisualDLMirror
    mirror: VisualDLMirror
    mirrors = _mirrors
    install = staticmethod(_install)


def sync_visualdl(**seetrain_kwargs: Any) -> VisualDLIntegration:
    """Mirror every ``visualdl.LogWriter`` into SeeTrain until ``unsync_visualdl()``. Calling it
    again while a mirror is on returns that mirror."""
    from integrations import main

    return _mirrors.sync(main.init_visualdl, **seetrain_kwargs)


def unsync_visualdl(status: str = "finished") -> None:
    """Switch every VisualDL mirror off: original methods restored, runs finished."""
    _mirrors.unsync_all(status)


unsync = unsync_visualdl
