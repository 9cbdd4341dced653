"""Run configuration: built from a dict, argparse.Namespace, dataclass or a JSON/YAML file."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping
from pathlib import Path
from typing import Any

from seetrain._jsonsafe import json_safe

# orjson refuses to write more than 254 levels: the local store keeps everything up to here
# (the upload to a server cuts at its own, lower limit, seetrain.limits.MAX_JSON_DEPTH).
MAX_LOCAL_DEPTH = 250


def to_jsonable(value: Any, _depth: int = 0) -> Any:
    """Best-effort conversion of config values to JSON types; unknown objects become their repr
    so a config never fails to save because of one exotic value. Containers nested deeper than
    ``MAX_LOCAL_DEPTH`` become a short text marker, with a warning."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return json_safe(value)
    if _depth >= MAX_LOCAL_DEPTH and isinstance(value, (Mapping, list, tuple, set, frozenset)):
        import warnings

        from seetrain._errors import SeeTrainWarning

        warnings.warn(f"seetrain: config nested deeper than {MAX_LOCAL_DEPTH} levels; the deeper part is "
                      "kept as text", SeeTrainWarning, stacklevel=2)
        return f"<{type(value).__name__} nested deeper than {MAX_LOCAL_DEPTH} levels>"
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v, _depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, _depth + 1) for v in value]
    if isinstance(value, argparse.Namespace):
        return to_jsonable(vars(value), _depth)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_jsonable(dataclasses.asdict(value), _depth)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    item = getattr(value, "item", None)  # numpy / torch scalars
    if callable(item) and getattr(value, "ndim", 1) == 0:
        try:
            return to_jsonable(item())
        except Exception:  # noqa: BLE001 - fall through to repr
            pass
    to_container = getattr(value, "to_container", None)  # omegaconf
    if callable(to_container):
        try:
            return to_jsonable(to_container(resolve=True))
        except Exception:  # noqa: BLE001
            pass
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        try:
            return to_jsonable(tolist())
        except Exception:  # noqa: BLE001
            pass
    return repr(value)


def normalize_config(config: Any) -> dict[str, Any]:
    """Turn any accepted config form into a plain JSON-safe dict."""
    if config is None:
        return {}
    if isinstance(config, (str, os.PathLike)):
        return _load_file(Path(config))
    if isinstance(config, argparse.Namespace):
        config = vars(config)
    elif dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = dataclasses.asdict(config)
    elif not isinstance(config, Mapping):
        converted = to_jsonable(config)
        if not isinstance(converted, dict):
            raise TypeError(
                "config must be a dict, argparse.Namespace, dataclass instance or a path to a "
                f"JSON/YAML file, got {type(config).__name__}"
            )
        return converted
    return {str(k): to_jsonable(v) for k, v in config.items()}


def _load_file(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"config file not found: {path}")
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text)
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise TypeError(f"config file {path} must hold a mapping at top level")
    return normalize_config(data)


class Config:
    """Attribute and item access to a run's config; every change is persisted by the run."""

    _data: dict[str, Any]
    _on_change: Callable[[dict[str, Any]], None] | None

    def __init__(self, data: dict[str, Any] | None = None,
                 on_change: Callable[[dict[str, Any]], None] | None = None) -> None:
        object.__setattr__(self, "_data", dict(data or {}))
        object.__setattr__(self, "_on_change", on_change)

    def update(self, values: Any = None, **kwargs: Any) -> None:
        merged = normalize_config(values)
        merged.update(normalize_config(kwargs))
        if not merged:
            return
        self._data.update(merged)
        if self._on_change is not None:
            self._on_change(dict(self._data))

    def as_dict(self) -> dict[str, Any]:
        return dict(self._data)

    to_dict = as_dict

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def keys(self) -> KeysView[str]:
        return self._data.keys()

    def items(self) -> ItemsView[str, Any]:
        return self._data.items()

    def __getattr__(self, name: str) -> Any:
        try:
            return self._data[name]
        except KeyError:
            raise AttributeError(f"config has no key {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self.update({name: value})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"Config({self._data!r})"
