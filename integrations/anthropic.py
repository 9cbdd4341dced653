"""Anthropic autolog: every ``messages.create`` and ``messages.stream`` call of any
``Anthropic`` / ``AsyncAnthropic`` client is recorded into a SeeTrain run, without changing
the calls (``with client.messages.stream(...) as stream`` and its helpers such as
``text_stream`` and ``get_final_message()`` keep working as before).

    from integrations.main import enable_anthropic_autolog
    autolog = enable_anthropic_autolog(project="claude", experiment_name="chat")
    client = anthropic.Anthropic()
    client.messages.create(model="claude-sonnet-4-5", max_tokens=256, messages=[...])
    autolog.disable()

See ``docs/integrations/anthropic.md``.
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["AnthropicAutolog", "suppress_autolog"]


class AnthropicAutolog(LLMAutolog, provider="anthropic"):
    """Autolog of ``messages.create`` and ``messages.stream`` (sync, async, streaming)."""
