"""Helpers shared by the LLM autolog tests (their fixtures are in tests/integrations/conftest.py)."""

from __future__ import annotations

import gc
import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import seetrain
from integrations._autolog import PROVIDERS

PROJECT = "llm"
QUIET = {"system_monitor": False, "capture_console": False}


def enable(provider: str, logdir: Path, experiment_name: str = "chat", **kwargs: Any) -> Any:
    """``enable_<provider>_autolog`` from the hub, writing into ``logdir``."""
    from integrations import main

    factory = getattr(main, f"enable_{provider}_autolog")
    return factory(project=PROJECT, experiment_name=experiment_name, logdir=str(logdir), **QUIET, **kwargs)


def patched_attributes(provider: str) -> dict[tuple[Any, str], Any]:
    """Every patch target's owner class and attribute, mapped to the object in its ``__dict__``."""
    found = {}
    for target in PROVIDERS[provider].targets:
        owner = importlib.import_module(target.module)
        *parents, attribute = target.path.split(".")
        for name in parents:
            owner = getattr(owner, name)
        found[owner, attribute] = vars(owner).get(attribute)
    return found


def assert_restored(before: dict[tuple[Any, str], Any]) -> None:
    for (owner, attribute), original in before.items():
        assert vars(owner).get(attribute) is original, f"{owner.__name__}.{attribute} not restored"
        if not isinstance(original, (classmethod, staticmethod)):  # those bind anew on each access
            assert getattr(owner, attribute) is original


def read_then_drop(open_stream: Callable[[], Any], chunks: int) -> None:
    """Open a stream, read ``chunks`` chunks, break off and drop it, the way a user's loop that
    breaks early and forgets the stream does: this function holds its only reference, so the
    stream is gone (and recorded as abandoned) when it returns."""
    stream = open_stream()
    for index, _ in enumerate(stream):
        if index == chunks - 1:
            break
    del stream
    gc.collect()


def run_view(logdir: Path, name: str | None = None) -> Any:
    runs = seetrain.Api(logdir).runs(PROJECT)
    if name is not None:
        runs = [run for run in runs if run.name == name]
    assert len(runs) == 1, [run.name for run in runs]
    return runs[0]


def finished_view(autolog: Any, logdir: Path) -> Any:
    """Disable ``autolog`` (finishing its run) and read the run back."""
    autolog.disable()
    return run_view(logdir)


def calls(view: Any) -> list[dict[str, Any]]:
    """The ``llm_call`` records of a run, in call order."""
    return [media.payload for media in sorted(view.media(kind="llm_call"), key=lambda m: m.step)]


def scalar(view: Any, key: str) -> list[tuple[int, float]]:
    return [(step, value) for step, _, value in view.scalars(key)]


def texts(view: Any, key: str) -> list[str]:
    return [media.payload["text"] for media in view.media(key=key)]


def run_bytes(view: Any) -> bytes:
    """Every byte the run left on disk (database, WAL, media files)."""
    return b"".join(path.read_bytes() for path in sorted(Path(view.dir).rglob("*")) if path.is_file())
