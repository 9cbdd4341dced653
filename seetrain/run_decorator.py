"""``@seetrain.monitor(project=...)``: wrap a function of a script that was not written for SeeTrain
in a run (its plain arguments become the config, an exception marks the run failed). What it
cannot see is listed in its docstring and in docs/insight.md."""

from __future__ import annotations

import contextlib
import functools
import inspect
import traceback
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])
_SIMPLE = (int, float, str, bool, type(None))


def _simple_args(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments that are plain values (numbers, strings, flags), for the config."""
    try:
        bound = inspect.signature(func).bind(*args, **kwargs)
        bound.apply_defaults()
    except (TypeError, ValueError):
        return {}
    out: dict[str, Any] = {}
    for name, value in bound.arguments.items():
        if isinstance(value, _SIMPLE):
            out[name] = value
        elif isinstance(value, (list, tuple)) and all(isinstance(v, _SIMPLE) for v in value):
            out[name] = list(value)
    return out


def monitor(func: F | None = None, *, project: str | None = None, log_args: bool = True,
            **init_kwargs: Any) -> Any:
    """Run the decorated function inside a SeeTrain run.

    The run is named after the function (unless ``experiment_name`` is given) and its plain
    arguments go into the config (``log_args``). Inside, ``seetrain.log`` and friends log to it.
    An exception marks the run ``failed`` (``aborted`` for Ctrl-C) with the traceback stored, and
    is re-raised unchanged. Other keyword arguments go to :func:`seetrain.init`. Works on plain
    and ``async`` functions, as ``@monitor`` or ``@monitor(project="x")``.

    Limits: a generator function's run ends when the generator object is created, not when it
    is exhausted; the decorator starts a fresh run per call and, like ``seetrain.init``,
    finishes a run that is still open unless ``reinit="create_new"`` is passed.
    """
    def decorate(fn: F) -> F:
        def start(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
            from seetrain._current_run import init

            options = dict(init_kwargs)
            options.setdefault("experiment_name", fn.__name__)
            run = init(project=project, **options)
            if log_args:
                values = _simple_args(fn, args, kwargs)
                if values:
                    run.update_config({"args": values})
            return run

        def fail(run: Any, exc: BaseException) -> None:
            status = "aborted" if isinstance(exc, KeyboardInterrupt) else "failed"
            run.finish(status=status, error="".join(traceback.format_exception(type(exc), exc,
                                                                              exc.__traceback__)))

        @contextlib.contextmanager
        def in_run(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Iterator[None]:
            run = start(args, kwargs)
            try:
                yield
            except BaseException as exc:
                fail(run, exc)
                raise
            run.finish()

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                with in_run(args, kwargs):
                    return await fn(*args, **kwargs)
            return async_wrapper  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with in_run(args, kwargs):
                return fn(*args, **kwargs)
        return wrapper  # type: ignore[return-value]

    return decorate(func) if func is not None else decorate
