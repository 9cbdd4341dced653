"""The one definition of what a run id, name, tag or key may be: ``seetrain.init`` checks a
run against it on the client and the tracking server validates every batch against it, so
a run the client accepts is never refused by the server for its metadata.

Kept free of heavy imports: ``import seetrain`` loads it.

Rules (documented in docs/server.md):

- run id (``resume=``): 1-128 characters, any printable text including spaces and ``/``,
  but no control characters, no leading/trailing whitespace, and not ``.`` or ``..``.
  A bad id is a :class:`ValueError` at ``init``: an id is never silently rewritten.
- project: 1-128 of ``A-Za-z0-9_.-`` (the client already folds other characters to ``_``).
- name, description, group, hostname, error: longer text is cut to the limit at ``init``
  with a warning (the full text stays nowhere else, so the cut is announced).
- tags: at most :data:`MAX_TAGS` tags of at most :data:`MAX_TAG_LENGTH` characters each;
  duplicates are dropped, more tags than the limit is a :class:`ValueError` at ``init``.
- metric keys: :mod:`seetrain._metric_keys` (any printable text up to 256 characters).
- config/metadata/summary: JSON nested at most :data:`MAX_JSON_DEPTH` levels deep.
- step and seq: signed 64-bit integers; timestamps finite.
- no NUL character in any text (PostgreSQL cannot store it); console lines and captions
  have NUL replaced by U+FFFD by the uploader, everywhere else it is refused.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from collections.abc import Iterable
from typing import Any

from seetrain._metric_keys import MAX_KEY_LENGTH, key_problem

__all__ = [
    "MAX_RUN_ID_LENGTH", "MAX_PROJECT_LENGTH", "MAX_NAME_LENGTH", "MAX_DESCRIPTION_LENGTH",
    "MAX_GROUP_LENGTH", "MAX_TAGS", "MAX_TAG_LENGTH", "MAX_KEY_LENGTH", "MAX_JSON_DEPTH",
    "MAX_HOSTNAME_LENGTH", "MAX_ERROR_LENGTH", "MAX_LINE_LENGTH", "MAX_CAPTION_LENGTH",
    "INT64_MIN", "INT64_MAX", "PROJECT_PATTERN", "key_problem", "run_id_problem", "check_run_id", "clip",
    "normalize_tags", "check_init", "json_depth", "replace_nul",
]

MAX_RUN_ID_LENGTH = 128
MAX_PROJECT_LENGTH = 128
MAX_NAME_LENGTH = 4096
MAX_DESCRIPTION_LENGTH = 100_000
MAX_GROUP_LENGTH = 256
MAX_TAGS = 1000
MAX_TAG_LENGTH = 256
MAX_JSON_DEPTH = 100
MAX_HOSTNAME_LENGTH = 255
MAX_ERROR_LENGTH = 1_000_000
MAX_LINE_LENGTH = 1_000_000
MAX_CAPTION_LENGTH = 100_000
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
PROJECT_PATTERN = r"^[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,127}$"
_PROJECT = re.compile(PROJECT_PATTERN)


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def run_id_problem(run_id: Any) -> str | None:
    """Why ``run_id`` is not a valid run id, or None when it is."""
    if not isinstance(run_id, str):
        return f"a run id must be a string, not {type(run_id).__name__}"
    if not run_id:
        return "a run id must not be empty"
    if len(run_id) > MAX_RUN_ID_LENGTH:
        return f"a run id has at most {MAX_RUN_ID_LENGTH} characters (this one has {len(run_id)})"
    if _has_control(run_id):
        return "a run id must not contain control characters (newline, tab, NUL ...)"
    if run_id != run_id.strip():
        return "a run id must not start or end with whitespace"
    if run_id in (".", ".."):
        return "a run id cannot be '.' or '..'"
    return None


def check_run_id(run_id: str) -> str:
    """``run_id`` itself, or :class:`ValueError` saying what is wrong with it."""
    problem = run_id_problem(run_id)
    if problem:
        raise ValueError(f"invalid run id {str(run_id)[:60]!r}: {problem}")
    return run_id


def project_problem(project: Any) -> str | None:
    if not isinstance(project, str) or not _PROJECT.match(project):
        return f"a project name is 1-{MAX_PROJECT_LENGTH} characters of A-Z a-z 0-9 _ . - (not starting with '.')"
    return None


def clip(text: str | None, limit: int, what: str, *, warn: bool = True) -> str | None:
    """``text`` cut to ``limit`` characters (with a warning saying so)."""
    if text is None or len(text) <= limit:
        return text
    if warn:
        warnings.warn(f"seetrain: the {what} has {len(text)} characters; it is cut to the limit of {limit}",
                      stacklevel=3)
    return text[:limit]


def normalize_tags(tags: Iterable[Any] | None) -> list[str]:
    """Tags as strings, duplicates dropped; ValueError when one is too long or there are too many."""
    out = list(dict.fromkeys(str(t) for t in (tags or [])))
    if len(out) > MAX_TAGS:
        raise ValueError(f"a run has at most {MAX_TAGS} tags ({len(out)} given)")
    for tag in out:
        if len(tag) > MAX_TAG_LENGTH:
            raise ValueError(f"a tag has at most {MAX_TAG_LENGTH} characters: {tag[:40]!r}... has {len(tag)}")
        if "\x00" in tag:
            raise ValueError(f"a tag must not contain a NUL character: {tag[:40]!r}")
    return out


def replace_nul(text: str) -> str:
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def check_init(*, run_id: str | None = None, name: str | None = None, description: str | None = None,
               group: str | None = None, tags: Iterable[Any] | None = None) -> dict[str, Any]:
    """What ``seetrain.init`` calls: raises ValueError for a bad run id or tags, returns the
    (possibly cut) name, description, group and the normalised tags."""
    if run_id is not None:
        check_run_id(run_id)
    fixed: dict[str, Any] = {
        "name": clip(replace_nul(name), MAX_NAME_LENGTH, "run name") if name is not None else None,
        "description": (clip(replace_nul(description), MAX_DESCRIPTION_LENGTH, "run description")
                        if description is not None else None),
        "group": clip(replace_nul(group), MAX_GROUP_LENGTH, "run group") if group is not None else None,
    }
    if tags is not None:
        fixed["tags"] = normalize_tags(tags)
    return fixed


def json_depth(obj: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """Nesting depth of a JSON-like value, counting stops just past ``limit`` (no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest
