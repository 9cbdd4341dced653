"""The one patch engine of the hub, on ``wrapt``: the LLM autologs, the mirrors (TensorBoard,
MLflow, W&B), ``autolog_torch`` and ``seetrain.autolog()`` all patch through it.

- A ``Target`` names one attribute (``owner`` is an object or a module name, ``path`` a dotted
  path inside it, e.g. ``"Completions.create"``) and the wrapt wrapper to put around it.
- ``PatchSet.apply(targets)`` wraps each target once (``wrapt.FunctionWrapper``); ``restore()``
  puts back the very objects that were there (``owner.__dict__[attr] is original`` again, or the
  attribute is deleted when the wrapped one was inherited), like OpenTelemetry's
  instrument/uninstrument pair. A wrapper someone else wrapped again afterwards is left in
  place (removing ours would drop theirs) and calls straight through from then on: every
  installed wrapper checks ``PatchSet.active`` at call time.
- ``when_imported(module, hook)``: run ``hook(module)`` once the module is imported, now if it
  already is. It uses wrapt's post-import hooks (a ``sys.meta_path`` finder), so enabling an
  autolog imports nothing that the program has not imported itself.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import wrapt

log = logging.getLogger("seetrain")

Wrapper = Callable[[Any, Any, tuple, dict], Any]

__all__ = ["PatchSet", "Target", "Wrapper", "when_imported"]


@dataclass(frozen=True)
class Target:
    """``owner.<path>`` wrapped by ``wrapper(wrapped, instance, args, kwargs)``.

    ``owner`` is an object (module, class) or the name of a module (imported when applied; apply
    such targets from an import hook so nothing is imported early). ``inherited=True`` allows
    wrapping an attribute a class inherits (restored by deleting it again); by default only a
    class's own attribute is wrapped, and a missing one is skipped with a debug log.
    """

    owner: Any
    path: str
    wrapper: Wrapper
    why: str = ""
    inherited: bool = False

    @property
    def label(self) -> str:
        owner = self.owner if isinstance(self.owner, str) else getattr(self.owner, "__name__", repr(self.owner))
        return f"{owner}:{self.path}"


@dataclass
class _Applied:
    owner: Any
    attr: str
    original: Any      # owner.__dict__[attr] as it was (None when it was inherited)
    had_own: bool
    patched: Any
    label: str


def _resolve(target: Target) -> tuple[Any, str, Any]:
    """(the object holding the attribute, its name, the current value) of a target."""
    owner = target.owner
    if isinstance(owner, str):
        owner = sys.modules.get(owner) or importlib.import_module(owner)
    *parents, attr = target.path.split(".")
    for name in parents:
        owner = getattr(owner, name)
    if isinstance(owner, type) and attr in vars(owner):
        # The raw class attribute (a staticmethod/classmethod object stays one: wrapt binds it).
        return owner, attr, vars(owner)[attr]
    return owner, attr, getattr(owner, attr)


def _own(owner: Any, attr: str) -> tuple[bool, Any]:
    namespace = vars(owner) if isinstance(owner, (type, ModuleType)) else getattr(owner, "__dict__", {})
    return (attr in namespace), namespace.get(attr)


class PatchSet:
    """Patches applied from a table of targets and removed exactly (see the module doc)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.active = False
        self._applied: list[_Applied] = []
        self._lock = threading.RLock()

    @property
    def labels(self) -> list[str]:
        return [a.label for a in self._applied]

    def is_applied(self, owner: Any, attr: str) -> bool:
        return any(a.owner is owner and a.attr == attr for a in self._applied)

    def apply(self, targets: Iterable[Target]) -> list[str]:
        """Wrap every target not wrapped yet; returns the labels of all targets now wrapped."""
        with self._lock:
            for target in targets:
                try:
                    owner, attr, current = _resolve(target)
                except (ImportError, AttributeError) as exc:
                    # An older version lacks this attribute: nothing to patch there.
                    log.debug("seetrain[%s]: skipping %s (%s)", self.name, target.label, exc)
                    continue
                if self.is_applied(owner, attr):
                    continue
                had_own, original = _own(owner, attr)
                if not had_own and not target.inherited and isinstance(owner, type):
                    log.debug("seetrain[%s]: %s is inherited here; not patched", self.name, target.label)
                    continue
                patched = wrapt.FunctionWrapper(current, self._gate(target.wrapper))
                setattr(owner, attr, patched)
                self._applied.append(_Applied(owner, attr, original, had_own, patched, target.label))
                log.debug("seetrain[%s]: patched %s: %s", self.name, target.label, target.why)
            self.active = True
            return self.labels

    def _gate(self, wrapper: Wrapper) -> Wrapper:
        def gated(wrapped: Any, instance: Any, args: tuple, kwargs: dict) -> Any:
            if not self.active:
                return wrapped(*args, **kwargs)
            return wrapper(wrapped, instance, args, kwargs)

        return gated

    def restore(self) -> None:
        """Put the originals back (idempotent)."""
        with self._lock:
            self.active = False
            for applied in reversed(self._applied):
                _, current = _own(applied.owner, applied.attr)
                if current is not applied.patched:
                    log.warning("seetrain[%s]: %s was patched again by someone else; left in place "
                                "(it calls straight through now)", self.name, applied.label)
                    continue
                if applied.had_own:
                    setattr(applied.owner, applied.attr, applied.original)
                else:
                    delattr(applied.owner, applied.attr)
            self._applied.clear()


_hooked: set[tuple[str, int]] = set()
_hooked_lock = threading.Lock()


def when_imported(module: str, hook: Callable[[ModuleType], None]) -> None:
    """Call ``hook(module)`` when ``module`` is imported (at once if it already is). Registering
    the same hook object for the same module twice is a no-op; a hook cannot be unregistered,
    so hooks check their own "still wanted" state."""
    key = (module, id(hook))
    with _hooked_lock:
        if key in _hooked:
            already = sys.modules.get(module)
            if already is not None:
                hook(already)
            return
        _hooked.add(key)
    wrapt.register_post_import_hook(hook, module)
