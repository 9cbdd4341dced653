"""The environment every test runs the SDK in: none of the developer's ``SEETRAIN_*`` variables,
no system monitor or console capture (their own tests switch them on). Function-scoped tests get
it from tests/conftest.py; module-scoped fixtures that write runs use :func:`local_sdk_env`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

SDK_VARIABLES = ("SEETRAIN_MODE", "SEETRAIN_LOGDIR", "SEETRAIN_PROJECT", "SEETRAIN_HOST", "SEETRAIN_API_KEY")


def quiet_local_sdk(mp: pytest.MonkeyPatch) -> None:
    for var in SDK_VARIABLES:
        mp.delenv(var, raising=False)
    mp.setenv("SEETRAIN_SYSTEM_MONITOR", "0")
    mp.setenv("SEETRAIN_CAPTURE_CONSOLE", "0")


@contextlib.contextmanager
def local_sdk_env() -> Iterator[pytest.MonkeyPatch]:
    """:func:`quiet_local_sdk` for a block (a module-scoped fixture writing its runs)."""
    with pytest.MonkeyPatch.context() as mp:
        quiet_local_sdk(mp)
        yield mp
