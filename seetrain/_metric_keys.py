"""What a metric key may be: one definition for ``log()``, the server and the docs.

Any printable Unicode is kept exactly as typed (``训练/损失``, ``λ``, ``val loss``). Refused,
with a counted warning: keys that are not strings, empty or blank keys, keys longer than
``MAX_KEY_LENGTH`` characters and keys holding control characters or lone surrogates.
Nothing is rewritten, so two distinct keys can never become one stored name.
"""

from __future__ import annotations

import unicodedata
from typing import Any

MAX_KEY_LENGTH = 256
_BAD_CATEGORIES = ("Cc", "Cs")


def key_problem(key: Any) -> str | None:
    """Why ``key`` cannot be a metric key, or None when it can."""
    if not isinstance(key, str):
        return f"must be a string, not {type(key).__name__}"
    if not key.strip():
        return "is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"is longer than {MAX_KEY_LENGTH} characters"
    if not key.isprintable():
        for ch in key:
            if unicodedata.category(ch) in _BAD_CATEGORIES:
                return f"holds the control character {ch!r}"
    return None
