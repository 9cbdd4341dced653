"""Cohere autolog: every ``chat`` / ``chat_stream`` call of ``cohere.ClientV2`` /
``AsyncClientV2`` is recorded into a SeeTrain run, without changing the calls.

    import cohere
    from integrations.main import enable_cohere_autolog

    autolog = enable_cohere_autolog(project="cohere", experiment_name="chat")
    client = cohere.ClientV2(api_key="...")   # made after enabling: Cohere binds chat at construction
    client.chat(model="command-r", messages=[{"role": "user", "content": "Hi"}])
    for event in client.chat_stream(model="command-r", messages=[...]): ...
    autolog.disable()

See docs/integrations/cohere.md.
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["CohereAutolog", "suppress_autolog"]


class CohereAutolog(LLMAutolog, provider="cohere"):
    """Autolog of the v2 ``chat`` and ``chat_stream`` (sync, async)."""
