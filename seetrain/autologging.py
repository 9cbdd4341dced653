"""``seetrain.autolog()``: the hub's autolog, reached from the core without the core importing
the hub (``import seetrain`` never imports ``integrations``; this function does, when called)."""

from __future__ import annotations

from collections.abc import Iterable


def autolog(exclude: Iterable[str] | None = None, disable: bool = False) -> dict[str, list[str] | str]:
    """Log every installed, supported framework into the current run (Lightning ``Trainer``,
    HF ``Trainer``, Keras ``fit``, ``xgb.train``, ``lgb.train``, SB3 ``learn``, the LLM clients):
    ``exclude=["keras"]`` leaves some out, ``disable=True`` restores every original exactly.
    Idempotent; imports no framework (each is patched when the program imports it).
    Returns what is patched per framework. See docs/integrations/autolog.md."""
    from integrations.autolog import autolog as hub_autolog

    return hub_autolog(exclude=exclude, disable=disable)
