"""Resolvers for the OpenAI client's ``chat.completions.create`` (see ``resolvers`` for the record)."""

from __future__ import annotations

from resolvers import _common

__all__ = [
    "PROVIDER",
    "StreamAccumulator",
    "resolve_error",
    "resolve_request",
    "resolve_response",
    "resolve_stream",
]

PROVIDER = "openai"
_chat = _common.ChatFormat(PROVIDER)

resolve_request = _chat.resolve_request
resolve_response = _chat.resolve_response
resolve_stream = _chat.resolve_stream
resolve_error = _chat.resolve_error
StreamAccumulator = _chat.StreamAccumulator
