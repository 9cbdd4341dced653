"""Mistral autolog: every ``chat.complete`` / ``chat.stream`` call (sync and async) of any
``mistralai`` client is recorded into a SeeTrain run, without changing the calls.

    from mistralai.client import Mistral
    from integrations.main import enable_mistral_autolog

    autolog = enable_mistral_autolog(project="mistral", experiment_name="chat")
    client = Mistral(api_key="...")
    client.chat.complete(model="mistral-small-latest", messages=[...])
    for event in client.chat.stream(model="mistral-small-latest", messages=[...]): ...
    autolog.disable()                              # originals restored exactly

What is patched is listed in ``integrations._autolog.PROVIDERS["mistral"]``; the record is the
one of the other LLM autologs (docs/integrations/mistral.md).
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["MistralAutolog", "suppress_autolog"]


class MistralAutolog(LLMAutolog, provider="mistral"):
    """Autolog of ``chat.complete`` and ``chat.stream`` (sync, async)."""
