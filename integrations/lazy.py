"""``LazyModule``: a module that is imported on first attribute access.

The hub's registry names each adapter module (and through it, each framework) with one, so that
``import integrations`` and reading the registry import no framework; an adapter can do the same
for an optional dependency it only needs on some paths::

    from integrations import LazyModule

    np = LazyModule("numpy")         # nothing imported yet
    np.zeros(3)                      # numpy is imported here, once, and used from then on

The proxy has no attributes of its own (every name is the real module's), so the questions about
it are module functions: ``is_loaded(np)``, ``is_available(np)``, ``resolve(np)`` (the real module).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

__all__ = ["LazyModule", "is_available", "is_loaded", "resolve"]

# State lives under these names in the instance __dict__, so that attribute access for anything
# else falls through to __getattr__ and the real module.
_STATE = ("_lazy_name", "_lazy_module", "_lazy_lock", "_lazy_on_import")


class LazyModule(types.ModuleType):
    """Stands in for the module ``name`` and imports it on first attribute access.

    ``on_import(module)`` runs once, right after the import (e.g. to register something with the
    framework). Thread-safe: concurrent first accesses import once. An ``ImportError`` is raised
    at the first attribute access, not at construction.
    """

    def __init__(self, name: str, on_import: Callable[[types.ModuleType], None] | None = None) -> None:
        super().__init__(name)
        self.__dict__["_lazy_name"] = name
        self.__dict__["_lazy_module"] = None
        self.__dict__["_lazy_lock"] = threading.Lock()
        self.__dict__["_lazy_on_import"] = on_import

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            # Introspection (copy, pickle, doctest ...) must not trigger an import.
            raise AttributeError(attr)
        return getattr(resolve(self), attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        if attr in _STATE or attr.startswith("__"):
            self.__dict__[attr] = value
        else:
            setattr(resolve(self), attr, value)

    def __dir__(self) -> list[str]:
        return dir(resolve(self))

    def __repr__(self) -> str:
        state = "imported" if is_loaded(self) else "not imported"
        return f"<LazyModule {self.__dict__['_lazy_name']!r} ({state})>"

    def __reduce__(self) -> tuple[Any, ...]:
        return (LazyModule, (self.__dict__["_lazy_name"],))


def is_loaded(lazy: LazyModule) -> bool:
    """True once the real module is imported (through this proxy or by anyone else)."""
    return lazy.__dict__["_lazy_module"] is not None or lazy.__dict__["_lazy_name"] in sys.modules


def is_available(lazy: LazyModule) -> bool:
    """True if the module can be imported. For a top-level name this asks the import system's
    finders only (nothing is imported); for a dotted name Python imports the parent packages."""
    name = lazy.__dict__["_lazy_name"]
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def resolve(lazy: LazyModule | types.ModuleType) -> types.ModuleType:
    """The real module behind ``lazy``, imported now if needed (a real module is returned as is)."""
    if not isinstance(lazy, LazyModule):
        return lazy
    state = lazy.__dict__
    module = state["_lazy_module"]
    if module is not None:
        return module
    with state["_lazy_lock"]:
        module = state["_lazy_module"]
        if module is None:
            module = importlib.import_module(state["_lazy_name"])
            state["_lazy_module"] = module
            callback = state["_lazy_on_import"]
            if callback is not None:
                callback(module)
    return module
