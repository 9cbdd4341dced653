"""Resolvers for the ZhipuAI client's ``chat.completions.create`` (see ``resolvers`` for the record).

ZhipuAI's API is OpenAI's chat-completions format (plus extras such as
``reasoning_content``, which is not recorded), so this module only names the
provider and delegates to the shared chat-format logic in ``_common``.
ZhipuAI streams report usage on the final choice chunk without being asked.
"""

from __future__ import annotations

from resolvers import _common

__all__ = ["PROVIDER", "StreamAccumulator", "resolve_error", "resolve_request", "resolve_response",
           "resolve_stream"]

PROVIDER = "zhipuai"
_chat = _common.ChatFormat(PROVIDER)

resolve_request = _chat.resolve_request
resolve_response = _chat.resolve_response
resolve_stream = _chat.resolve_stream
resolve_error = _chat.resolve_error
StreamAccumulator = _chat.StreamAccumulator
