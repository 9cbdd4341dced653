"""``seetrain.autolog()`` / ``integrations.main.autolog()``: every installed, supported framework
logs into the current run with no other change to the script, as MLflow's ``autolog()`` does.

    import seetrain
    seetrain.autolog()                      # before or after importing the frameworks
    seetrain.init(project="p")
    trainer = lightning.Trainer(max_epochs=3); trainer.fit(model, loader)   # logged
    booster = xgb.train(params, dtrain, evals=[(dvalid, "valid")])          # logged
    seetrain.autolog(disable=True)          # every patched function is the original again

For each row of ``HOOKS``: nothing happens until the program imports the framework itself (a
post-import hook, ``integrations._patching.when_imported``); then the adapter's
``autolog_targets()`` are applied through the one patch engine. A patched entry point (a
``Trainer.fit``, ``xgb.train``, ``Model.fit`` ...) adds the adapter's native object (logger,
callback) unless the caller passed one already, bound to the current run; without an open run
the native object starts and finishes a run of its own. The LLM clients get their autolog
integration, recording into the current run (one is started on the first call if none is open).
"""

from __future__ import annotations

import importlib.util
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from integrations import registry
from integrations._patching import PatchSet, when_imported
from integrations.lazy import resolve

log = logging.getLogger("seetrain")

__all__ = ["HOOKS", "AutologHook", "autolog", "status"]


@dataclass(frozen=True)
class AutologHook:
    name: str                  # the registry row (what exclude= names)
    modules: tuple[str, ...]   # importing any of these applies the hook
    kind: str = "patch"        # "patch": the adapter's autolog_targets(); "llm": its LLM autolog


HOOKS: tuple[AutologHook, ...] = (
    AutologHook("pytorch_lightning", ("lightning.pytorch", "pytorch_lightning")),
    AutologHook("transformers", ("transformers.trainer",)),
    AutologHook("keras", ("keras",)),
    AutologHook("xgboost", ("xgboost",)),
    AutologHook("lightgbm", ("lightgbm",)),
    AutologHook("catboost", ("catboost",)),
    AutologHook("stable_baselines3", ("stable_baselines3",)),
    AutologHook("paddle", ("paddle",)),
    AutologHook("fastai", ("fastai.learner",)),
    AutologHook("openai", ("openai",), "llm"),
    AutologHook("anthropic", ("anthropic",), "llm"),
    AutologHook("zhipuai", ("zhipuai",), "llm"),
    AutologHook("mistral", ("mistralai.client",), "llm"),
    AutologHook("ollama", ("ollama",), "llm"),
    AutologHook("google_genai", ("google.genai",), "llm"),
    AutologHook("cohere", ("cohere",), "llm"),
    AutologHook("dashscope", ("dashscope",), "llm"),
)

_lock = threading.RLock()
_wanted: set[str] = set()              # hooks switched on now
_patches: dict[str, PatchSet] = {}     # name -> its patches once applied
_llm: dict[str, Any] = {}              # name -> its LLM autolog integration
_hook_functions: dict[tuple[str, str], Callable[[ModuleType], None]] = {}


class CurrentRun:
    """Stands in for "the current run" in an LLM autolog: every record goes to the run that is
    current when the call completes; with none open, the first record starts one (default
    project, experiment name ``llm-autolog``). Config and tags without a run are dropped."""

    def _run(self, create: bool) -> Any:
        from seetrain import DisabledRun, get_run, init

        run = get_run()
        if run is not None and not run.finished:
            return run
        if not create:
            return DisabledRun()
        return init(experiment_name="llm-autolog", reinit="create_new")

    def __getattr__(self, name: str) -> Any:
        creating = name in ("log", "log_event", "log_scalar", "log_text")
        return getattr(self._run(create=creating), name)

    @property
    def finished(self) -> bool:
        return False


def _installed(hook: AutologHook) -> bool:
    try:
        spec = registry.get_spec(hook.name)
        registry.find_framework(spec)
    except Exception:  # noqa: BLE001 - unknown row or framework missing: nothing to do
        return False
    return any(_find(m) for m in hook.modules)


def _find(module: str) -> bool:
    top = module.split(".")[0]
    try:
        return importlib.util.find_spec(top) is not None
    except (ImportError, ValueError):
        return False


def _apply(hook: AutologHook, module: ModuleType) -> None:
    with _lock:
        if hook.name not in _wanted:
            return
        try:
            adapter = resolve(registry.get_spec(hook.name).adapter_module)
            if hook.kind == "llm":
                if hook.name not in _llm:
                    integration = registry.load(hook.name).start(run=CurrentRun())
                    _llm[hook.name] = integration
            else:
                patches = _patches.setdefault(hook.name, PatchSet(f"autolog:{hook.name}"))
                patches.apply(adapter.autolog_targets())
        except Exception as exc:  # noqa: BLE001 - autolog must never break the user's import
            log.warning("seetrain: autolog for %s could not be enabled (%s: %s)", hook.name,
                        type(exc).__name__, exc)


def _remove(name: str) -> None:
    patches = _patches.pop(name, None)
    if patches is not None:
        patches.restore()
    integration = _llm.pop(name, None)
    if integration is not None:
        integration.finish()


def _hook_function(hook: AutologHook, module: str) -> Callable[[ModuleType], None]:
    key = (hook.name, module)
    function = _hook_functions.get(key)
    if function is None:
        def function(imported: ModuleType, hook: AutologHook = hook) -> None:
            _apply(hook, imported)

        _hook_functions[key] = function
    return function


def autolog(exclude: Iterable[str] | None = None, disable: bool = False) -> dict[str, list[str] | str]:
    """Switch autologging on for every installed, supported framework (except ``exclude``, a list
    of registry names such as ``["keras", "openai"]``), or off for all with ``disable=True``
    (every patched function is restored exactly). Idempotent: a second call with the same
    arguments changes nothing; a call with a different ``exclude`` switches the newly excluded
    frameworks off. Imports nothing: a framework imported later is patched when it is imported.
    Returns :func:`status`."""
    excluded = {registry.ALIASES.get(str(n).lower(), str(n)) for n in (exclude or ())}
    with _lock:
        if disable:
            wanted: set[str] = set()
        else:
            wanted = {h.name for h in HOOKS if h.name not in excluded and _installed(h)}
        for name in sorted(_wanted - wanted):
            _remove(name)
        _wanted.clear()
        _wanted.update(wanted)
        for hook in HOOKS:
            if hook.name in wanted:
                for module in hook.modules:
                    when_imported(module, _hook_function(hook, module))
        return status()


def status() -> dict[str, list[str] | str]:
    """Per framework switched on: the patched targets, ``"llm autolog"``, or
    ``"waiting for import"`` until the program imports the framework."""
    with _lock:
        out: dict[str, list[str] | str] = {}
        for name in sorted(_wanted):
            if name in _llm:
                out[name] = "llm autolog"
            elif name in _patches and _patches[name].labels:
                out[name] = _patches[name].labels
            else:
                out[name] = "waiting for import"
        return out
