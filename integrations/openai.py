"""OpenAI autolog: every ``chat.completions`` call of any ``OpenAI`` / ``AsyncOpenAI`` client is
recorded into a SeeTrain run, without changing the calls.

    from integrations.main import enable_openai_autolog
    autolog = enable_openai_autolog(project="openai_project", experiment_name="chat")
    client = openai.OpenAI()                       # created before or after enabling
    client.chat.completions.create(model="gpt-4o-mini", messages=[...])
    autolog.disable()                              # originals restored exactly

What is patched is listed in ``integrations._autolog.PROVIDERS["openai"]``; what is recorded
in ``docs/integrations/openai.md``.
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["OpenAIAutolog", "suppress_autolog"]


class OpenAIAutolog(LLMAutolog, provider="openai"):
    """Autolog of ``chat.completions.create`` / ``parse`` (sync, async, streaming)."""
