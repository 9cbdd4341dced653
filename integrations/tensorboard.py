"""TensorBoard mirror: an unchanged script that writes with ``SummaryWriter`` also records into SeeTrain.

    from integrations.tensorboard import sync_tensorboard, unsync_tensorboard
    sync_tensorboard(project="p")              # or integrations.main.init_tensorboard(project="p")
    writer = SummaryWriter("runs/exp1")        # torch.utils.tensorboard or tensorboardX
    writer.add_scalar("loss", 0.5, 1)          # event file written as before, and mirrored
    unsync_tensorboard()                       # originals back, runs finished

The methods of both ``SummaryWriter`` classes are wrapped at class level, so writers created
before ``sync_tensorboard()`` mirror too. By default every writer goes to ONE SeeTrain run (the
integration's); ``run_per_logdir=True`` gives one run per writer log_dir instead, the way
TensorBoard lists one run per directory. ``root_logdir`` prefixes keys (shared run) or names
runs (per log_dir) by the log_dir relative to it.
"""

from __future__ import annotations

import importlib.util
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

__all__ = ["TensorBoardIntegration", "TensorBoardMirror", "sync_tensorboard", "unsync", "unsync_tensorboard"]

log = logging.getLogger("seetrain")

# (module, class) pairs: torch's writer and tensorboardX's (``tensorboardX.SummaryWriter`` is
# ``tensorboardX.writer.SummaryWriter``, so patching the class covers both names).
WRITER_CLASSES = (("torch.utils.tensorboard.writer", "SummaryWriter"), ("tensorboardX.writer", "SummaryWriter"))

_patches = PatchSet("tensorboard")
_busy = BusyFlag()
_mirrors = MirrorStack("tensorboard", _patches)


# ---- converting one SummaryWriter call into SeeTrain records --------------------------------
# Each builder gets the call's bound arguments (by parameter name, so torch's and
# tensorboardX's slightly different signatures both work) and returns (records, step, config).

def _numpy(value: Any) -> Any:
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().to("cpu").float().numpy() if value.is_floating_point() \
            else value.detach().to("cpu").numpy()
    return np.asarray(value)


def _to_hwc(value: Any, dataformats: str) -> Any:
    import numpy as np

    arr = _numpy(value)
    fmt = (dataformats or "CHW").upper()
    if len(fmt) != arr.ndim or sorted(fmt) not in (sorted("HW"), sorted("CHW")):
        return arr  # let seetrain.Image apply its own HW/HWC/CHW rules
    if "C" not in fmt:
        return np.transpose(arr, [fmt.index(c) for c in "HW"])
    return np.transpose(arr, [fmt.index(c) for c in "HWC"])


def _scalar(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {a["tag"]: a["scalar_value"]}, a.get("global_step"), None


def _scalars(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    main_tag = a["main_tag"]
    return {f"{main_tag}/{k}": v for k, v in a["tag_scalar_dict"].items()}, a.get("global_step"), None


def _image(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {a["tag"]: Image(_to_hwc(a["img_tensor"], a.get("dataformats") or "CHW"))}, a.get("global_step"), None


def _images(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    fmt = (a.get("dataformats") or "NCHW").upper()
    batch = _numpy(a["img_tensor"])
    axis = fmt.index("N") if "N" in fmt else 0
    single = fmt.replace("N", "")
    images = [Image(_to_hwc(batch.take(i, axis=axis), single)) for i in range(batch.shape[axis])]
    return {a["tag"]: images}, a.get("global_step"), None


def _text(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {a["tag"]: Text(a["text_string"])}, a.get("global_step"), None


def _histogram(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    bins = a.get("bins")
    hist = Histogram(a["values"], bins=bins) if isinstance(bins, int) else Histogram(a["values"])
    return {a["tag"]: hist}, a.get("global_step"), None


def _audio(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    sound = _numpy(a["snd_tensor"]).squeeze()
    return {a["tag"]: Audio(sound, sample_rate=int(a.get("sample_rate") or 44100))}, a.get("global_step"), None


def _figure(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    figure = a["figure"]
    images = [Image(f) for f in figure] if isinstance(figure, (list, tuple)) else Image(figure)
    return {a["tag"]: images}, a.get("global_step"), None


def _hparams(a: dict[str, Any]) -> tuple[dict[str, Any], Any, dict[str, Any]]:
    return dict(a["metric_dict"]), a.get("global_step"), {"hparams": dict(a["hparam_dict"])}


def _graph(a: dict[str, Any]) -> tuple[dict[str, Any], Any, None]:
    return {}, None, None  # not a metric: capture() stores it as a graph record


# method -> (builder, why the patch exists)
METHODS: dict[str, tuple[Callable[[dict[str, Any]], tuple[dict[str, Any], Any, Any]], str]] = {
    "add_scalar": (_scalar, "the scalar curve (loss, lr ...) most scripts write"),
    "add_scalars": (_scalars, "several curves under one main tag, stored as main_tag/tag"),
    "add_image": (_image, "one image, converted from its dataformats to HWC"),
    "add_images": (_images, "a batch of images, stored as several images under one key"),
    "add_text": (_text, "a text record"),
    "add_histogram": (_histogram, "weight/activation distributions"),
    "add_audio": (_audio, "audio clips with their sample rate"),
    "add_figure": (_figure, "matplotlib figures, rendered to PNG before TensorBoard closes them"),
    "add_hparams": (_hparams, "hyperparameters to the run config and their result metrics"),
    "add_graph": (_graph, "the model graph, stored as a seetrain.log_graph record"),
}


# ---- the patches -----------------------------------------------------------------------------
def _make_wrapper(method: str) -> Callable[[Any, Any, tuple, dict], Any]:
    def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
        integration = current_integration()
        if integration is None or _busy.busy or not integration.enabled:
            return wrapped(*args, **kwargs)
        # Built before the original runs: data is copied now (add_figure closes the figure).
        pending = integration.guard(integration.mirror.capture, method, wrapped, instance, args, kwargs)
        _busy.busy = True
        try:
            result = wrapped(*args, **kwargs)
        finally:
            _busy.busy = False
        if pending is not None:
            integration.guard(pending)
        return result

    return wrapper


def _targets(module: Any) -> list[Target]:
    targets = []
    for module_name, class_name in WRITER_CLASSES:
        if module.__name__ != module_name:
            continue
        cls = getattr(module, class_name, None)
        if cls is None:
            log.debug("seetrain[tensorboard]: %s has no %s; not mirrored", module_name, class_name)
            continue
        for method, (_, why) in METHODS.items():
            targets.append(Target(cls, method, _make_wrapper(method), why))
    return targets


def _patch_module(module: Any) -> None:
    with _mirrors.lock:
        if _mirrors:  # the mirror may have been switched off before this module was imported
            _patches.apply(_targets(module))


def _install() -> None:
    """Patch the writer modules already imported; the others when (if ever) they are imported,
    so switching the mirror on never imports torch or tensorboardX itself."""
    for module_name, _ in WRITER_CLASSES:
        module = sys.modules.get(module_name)
        if module is not None:
            _patch_module(module)
        elif importlib.util.find_spec(module_name.partition(".")[0]) is not None:
            when_imported(module_name, _patch_module)
    _patches.active = True


def current_integration() -> TensorBoardIntegration | None:
    """The TensorBoard mirror that records writer calls now (the latest one switched on)."""
    return _mirrors.current()


def _writer_logdir(writer: Any) -> str:
    # torch: ``log_dir`` and ``get_logdir()``; tensorboardX: ``logdir`` and ``file_writer.get_logdir()``.
    for attr in ("log_dir", "logdir"):
        value = getattr(writer, attr, None)
        if value:
            return value
    return writer.get_logdir()


# ---- the integration ------------------------------------------------------------------------
class TensorBoardMirror(LogdirMirror):
    """Routes each writer call to a SeeTrain run; ``TensorBoardIntegration.get_backend()``."""

    section = "tensorboard"
    logdir_field = "log_dir"

    def writer_logdir(self, writer: Any) -> str:
        return _writer_logdir(writer)

    def capture(self, method: str, wrapped: Any, instance: Any, args: tuple,
                kwargs: dict) -> Callable[[], None] | None:
        """Convert one call now; return what sends it once the original call succeeded."""
        builder = METHODS[method][0]
        arguments = bound_arguments(wrapped, args, kwargs)
        records, step, config = builder(arguments)
        run, prefix = self.run_for(instance)
        if isinstance(run, DisabledRun):
            return None
        if method == "add_graph":
            from seetrain.insight.graph import graph_payload

            # Traced before TensorBoard's own jit trace runs the model (both in eval mode).
            payload = graph_payload(arguments["model"], arguments.get("input_to_model"))

            def send_graph() -> None:
                run.log_event("graph", payload, key=f"{prefix}graph")

            return send_graph
        if prefix:
            records = {prefix + key: value for key, value in records.items()}
        integration = self.integration

        def send() -> None:
            if config:
                merged = {k: {**(run.config.get(k) or {}), **v} for k, v in config.items()}
                run.update_config(merged)
            if records:
                run.log(records, step=step)
                integration.stats["records_sent"] += 1

        return send


class TensorBoardIntegration(MirrorIntegration):
    """Hub entry: ``init_tensorboard(...)`` switches the mirror on; ``finish()`` switches it off
    (see :class:`integrations._mirror.MirrorIntegration` for the arguments)."""

    name = "tensorboard"
    mirror_class = TensorBoardMirror
    mirror: TensorBoardMirror
    mirrors = _mirrors
    install = staticmethod(_install)


def sync_tensorboard(**seetrain_kwargs: Any) -> TensorBoardIntegration:
    """Mirror every ``SummaryWriter`` (torch and tensorboardX) into SeeTrain until
    ``unsync_tensorboard()``. Calling it again while a mirror is on returns that mirror."""
    from integrations import main

    return _mirrors.sync(main.init_tensorboard, **seetrain_kwargs)


def unsync_tensorboard(status: str = "finished") -> None:
    """Switch every TensorBoard mirror off: original methods restored, runs finished."""
    _mirrors.unsync_all(status)


unsync = unsync_tensorboard
