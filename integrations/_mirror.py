"""What the mirror adapters (TensorBoard, VisualDL, MLflow, W&B) share: the patch engine's ``PatchSet`` and
``Target`` (``integrations._patching``), a per-thread busy flag, and extra SeeTrain runs opened on
demand next to the integration's own run. The two logdir writers (TensorBoard's ``SummaryWriter``,
VisualDL's ``LogWriter``) also share their patches (``WriterPatches``), the call-to-record path
(``LogdirMirror.capture``) and the hub integration (``MirrorIntegration``)."""

from __future__ import annotations

import importlib.util
import inspect
import logging
import os
import sys
import threading
from collections.abc import Callable, Hashable
from types import ModuleType
from typing import Any, ClassVar

import seetrain
from integrations._base import Integration
from integrations._patching import PatchSet, Target, when_imported
from seetrain import DisabledRun, Run

log = logging.getLogger("seetrain")

__all__ = ["BusyFlag", "bound_arguments", "LogdirMirror", "MirrorStack", "PatchSet", "RunPool", "Target", "framework_tag",
           "MirrorIntegration", "WriterPatches"]

# A writer method's converter: the call's bound arguments -> (records, step, config section or None).
Builder = Callable[[dict[str, Any]], tuple[dict[str, Any], Any, Any]]

_signatures: dict[Any, inspect.Signature] = {}


def bound_arguments(wrapped: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    """A wrapped method's call as ``{parameter: value}`` (signatures cached per function)."""
    func = getattr(wrapped, "__func__", wrapped)
    sig = _signatures.get(func)
    if sig is None:
        sig = _signatures[func] = inspect.signature(wrapped)
    return sig.bind_partial(*args, **kwargs).arguments


class BusyFlag(threading.local):
    """Per-thread "inside a mirrored call" flag: a framework method that calls another mirrored
    method (TensorBoard's add_hparams writes its metrics through a second writer's add_scalar)
    must be recorded once."""

    busy = False


def framework_tag(integration: Integration) -> dict[str, Any]:
    return {"name": integration.name, "package": integration.framework,
            "version": integration.framework_version, "mode": integration.mode}


class RunPool:
    """SeeTrain runs keyed by the framework's own notion of a run (a TensorBoard log_dir, an
    MLflow run id). The first key claims the integration's own run; later keys get new runs with
    the same project and settings, tagged with the framework like the first."""

    def __init__(self, integration: Integration, init_kwargs: dict[str, Any]) -> None:
        self._integration = integration
        self._kwargs = {k: v for k, v in init_kwargs.items() if v is not None}
        self._runs: dict[Hashable, Run | DisabledRun] = {}
        self._claimed = False
        self._lock = threading.RLock()

    def get(self, key: Hashable) -> Run | DisabledRun | None:
        return self._runs.get(key)

    def keys(self) -> list[Hashable]:
        return list(self._runs)

    def open(self, key: Hashable, name: str | None = None, config: dict[str, Any] | None = None,
             group: str | None = None) -> Run | DisabledRun:
        """The run for ``key``, created (or claimed) now if needed."""
        with self._lock:
            run = self._runs.get(key)
            if run is not None and not run.finished:
                return run
            own = self._integration.run
            if isinstance(own, DisabledRun):  # non-zero rank: nothing is recorded anywhere
                self._runs[key] = own
                return own
            if not self._claimed and not own.finished:
                self._claimed = True
                if config:
                    own.update_config(config)
                self._runs[key] = own
                return own
            kwargs = dict(self._kwargs)
            kwargs["project"] = own.project
            kwargs["logdir"] = own.settings.logdir
            kwargs["mode"] = own.mode
            if group is not None:
                kwargs["group"] = group
            user_config = kwargs.pop("config", None) or {}
            user_config = user_config if isinstance(user_config, dict) else {}
            new = seetrain.init(experiment_name=name, config={**user_config, **(config or {}),
                                                              "framework": framework_tag(self._integration)},
                                reinit="create_new", **kwargs)
            new.add_tags(self._integration.name)
            self._runs[key] = new
            return new

    def finish(self, key: Hashable, status: str = "finished") -> None:
        run = self._runs.get(key)
        if run is not None:
            self._integration.guard(run.finish, status=status)

    def finish_all(self, status: str = "finished") -> None:
        """Finish every extra run (the integration finishes its own run itself)."""
        with self._lock:
            for run in self._runs.values():
                if run is not self._integration.run:
                    self._integration.guard(run.finish, status=status)


class MirrorStack:
    """The mirrors of one framework that are switched on, latest last. The patches go in with
    the first and come out with the last, so nested sync/unsync pairs restore the originals
    exactly, and the latest mirror is the one that records."""

    def __init__(self, name: str, patches: PatchSet) -> None:
        self.name = name
        self.patches = patches
        self.lock = threading.RLock()
        self._items: list[Integration] = []

    def __bool__(self) -> bool:
        return bool(self._items)

    def current(self) -> Any:
        items = self._items
        return items[-1] if items else None

    def push(self, integration: Integration, install: Callable[[], object]) -> None:
        with self.lock:
            self._items.append(integration)
            install()

    def remove(self, integration: Integration) -> None:
        with self.lock:
            if integration in self._items:
                self._items.remove(integration)
            if not self._items:
                self.patches.restore()

    def sync(self, factory: Callable[..., Any], **seetrain_kwargs: Any) -> Any:
        """Switch a mirror on through the hub, or return the one already on."""
        active = self.current()
        if active is not None:
            log.info("seetrain[%s]: already synced; returning the active mirror", self.name)
            return active
        return factory(**seetrain_kwargs)

    def unsync_all(self, status: str = "finished") -> None:
        with self.lock:
            active = list(self._items)
        for integration in reversed(active):
            integration.finish(status=status)


class LogdirMirror:
    """Routes each call of a logdir-based writer (TensorBoard's ``SummaryWriter``, VisualDL's
    ``LogWriter``) to a SeeTrain run: the integration's own run, keys prefixed by the writer's
    logdir relative to ``root_logdir``, or with ``run_per_logdir`` one run per logdir.
    Subclasses name their config section and say where a writer's logdir is."""

    section = ""  # the run config section, e.g. "tensorboard"
    logdir_field = "logdir"  # config field of one logdir; the list of them adds an "s"
    methods: ClassVar[dict[str, tuple[Builder, str]]] = {}  # method -> (builder, why it is patched)

    def __init__(self, integration: Any, run_per_logdir: bool, root_logdir: str | None, pool: RunPool,
                 group: str | None) -> None:
        self.integration = integration
        self.run_per_logdir = run_per_logdir
        self.root_logdir = os.path.abspath(root_logdir) if root_logdir else None
        self._pool = pool
        self._group = group
        self._logdirs: list[str] = []
        self._lock = threading.Lock()

    @property
    def logdirs(self) -> list[str]:
        """The writer logdirs seen so far."""
        return list(self._logdirs)

    def writer_logdir(self, writer: Any) -> str:
        raise NotImplementedError

    def run_for(self, writer: Any) -> tuple[Run | DisabledRun, str]:
        """(run, key prefix) for one writer."""
        logdir = os.path.abspath(os.fspath(self.writer_logdir(writer)))
        name = self._relative(logdir)
        if logdir not in self._logdirs:
            with self._lock:
                if logdir not in self._logdirs:
                    self._logdirs.append(logdir)
                    if not self.run_per_logdir:
                        self.integration.update_config(
                            {self.section: {self.logdir_field + "s": list(self._logdirs)}})
        if self.run_per_logdir:
            run = self._pool.open(logdir, name=name, group=self._group,
                                  config={self.section: {self.logdir_field: logdir}})
            return run, ""
        prefix = "" if self.root_logdir is None or name in (".", "") else name + "/"
        return self.integration.run, prefix

    def _relative(self, logdir: str) -> str:
        base = self.root_logdir or os.getcwd()
        rel = os.path.relpath(logdir, base)
        if rel.startswith(".."):
            return os.path.basename(logdir.rstrip(os.sep)) or logdir
        return rel.replace(os.sep, "/")

    def finish_runs(self, status: str = "finished") -> None:
        self._pool.finish_all(status=status)

    def graph_payload(self, arguments: dict[str, Any]) -> dict[str, Any]:
        """The ``graph`` record of an ``add_graph`` call (its bound arguments)."""
        raise NotImplementedError

    def capture(self, method: str, wrapped: Any, instance: Any, args: tuple,
                kwargs: dict) -> Callable[[], None] | None:
        """Convert one writer call now (the data is copied before the writer touches it); return
        what sends it, or None when the run records nothing (a non-zero rank)."""
        arguments = bound_arguments(wrapped, args, kwargs)
        records, step, config = self.methods[method][0](arguments)
        run, prefix = self.run_for(instance)
        if isinstance(run, DisabledRun):
            return None
        integration = self.integration
        if method == "add_graph":
            payload = self.graph_payload(arguments)

            def send_graph() -> None:
                run.log_event("graph", payload, key=f"{prefix}graph")
                integration.stats["records_sent"] += 1

            return send_graph
        if prefix:
            records = {prefix + key: value for key, value in records.items()}

        def send() -> None:
            # One writer call counts as one record sent once what it carries (metrics, config, or
            # both) was handed to the run and accepted (the call returned); a call that carries
            # nothing (add_scalars with an empty dict) sends and counts nothing.
            if not records and not config:
                return
            if config:
                merged = {k: {**(run.config.get(k) or {}), **v} if isinstance(v, dict) else v
                          for k, v in config.items()}
                run.update_config(merged)
            if records:
                run.log(records, step=step)
            integration.stats["records_sent"] += 1

        return send


class MirrorIntegration(Integration):
    """The hub integration of a logdir mirror: ``init_<name>(...)`` switches the mirror on
    (``run_per_logdir``, ``root_logdir`` besides ``seetrain.init``'s arguments), ``finish()``
    switches it off (restoring the originals once no mirror is left) and finishes the runs.
    Subclasses set ``name``, ``mirror_class`` and ``writer`` (their ``WriterPatches``)."""

    mode = "visbackend"
    mirror_class: type[LogdirMirror]
    writer: ClassVar[WriterPatches]

    def __init__(self, project: str | None = None, experiment_name: str | None = None,
                 description: str | None = None, config: Any = None, tags: list[str] | None = None,
                 log_all_ranks: bool = False, run: Run | DisabledRun | None = None,
                 run_per_logdir: bool = False, root_logdir: str | os.PathLike[str] | None = None,
                 **init_kwargs: Any) -> None:
        super().__init__(project=project, experiment_name=experiment_name, description=description,
                         config=config, tags=tags, log_all_ranks=log_all_ranks, run=run, **init_kwargs)
        pool = RunPool(self, {"description": description, "config": config, "tags": tags, **init_kwargs})
        self.mirror = self.mirror_class(self, run_per_logdir, os.fspath(root_logdir) if root_logdir else None,
                                        pool, group=experiment_name or project)
        self.writer.mirrors.push(self, self.writer.install)

    def get_backend(self) -> LogdirMirror:
        return self.mirror

    def _teardown(self) -> None:
        self.writer.mirrors.remove(self)
        self.mirror.finish_runs()

    def get_stats(self) -> dict[str, Any]:
        return {**super().get_stats(), "logdirs": self.mirror.logdirs}


class WriterPatches:
    """The class-level patches of a logdir writer (``SummaryWriter``, ``LogWriter``): every method
    in ``methods`` of every ``(module, class)`` in ``writer_classes``. A module not imported yet
    is patched when (if ever) it is, so switching a mirror on never imports the framework.
    Methods in ``send_before_call`` are recorded before the writer's own method runs (it may fail
    after the data was read); the others once it has returned."""

    def __init__(self, name: str, writer_classes: tuple[tuple[str, str], ...],
                 methods: dict[str, tuple[Builder, str]], send_before_call: frozenset[str] = frozenset()) -> None:
        self.name = name
        self.writer_classes = writer_classes
        self.methods = methods
        self.send_before_call = send_before_call
        self.patches = PatchSet(name)
        self.mirrors = MirrorStack(name, self.patches)
        self._busy = BusyFlag()
        self._hook = self._patch_module  # one object: when_imported knows a hook by its id

    def wrapper(self, method: str) -> Callable[[Any, Any, tuple, dict], Any]:
        mirrors, busy, send_first = self.mirrors, self._busy, method in self.send_before_call

        def wrapper(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
            integration = mirrors.current()
            if integration is None or busy.busy or not integration.enabled:
                return wrapped(*args, **kwargs)
            # Built before the original runs: data is copied now (add_figure closes the figure).
            pending = integration.guard(integration.mirror.capture, method, wrapped, instance, args, kwargs)
            if send_first and pending is not None:
                integration.guard(pending)
                pending = None
            busy.busy = True
            try:
                result = wrapped(*args, **kwargs)
            finally:
                busy.busy = False
            if pending is not None:
                integration.guard(pending)
            return result

        return wrapper

    def _patch_module(self, module: ModuleType) -> None:
        with self.mirrors.lock:
            if not self.mirrors:  # the mirror may have been switched off before this module was imported
                return
            targets = []
            for module_name, class_name in self.writer_classes:
                if module.__name__ != module_name:
                    continue
                cls = getattr(module, class_name, None)
                if cls is None:
                    log.debug("seetrain[%s]: %s has no %s; not mirrored", self.name, module_name, class_name)
                    continue
                targets += [Target(cls, m, self.wrapper(m), why) for m, (_, why) in self.methods.items()]
            self.patches.apply(targets)

    def install(self) -> None:
        """Patch the writer modules already imported; the others when (if ever) they are imported."""
        for module_name, _ in self.writer_classes:
            module = sys.modules.get(module_name)
            if module is not None:
                self._patch_module(module)
            elif importlib.util.find_spec(module_name.partition(".")[0]) is not None:
                when_imported(module_name, self._hook)
        self.patches.active = True
