"""Ollama autolog: every ``chat`` call of ``ollama.Client`` / ``AsyncClient`` (and the module-level
``ollama.chat``) is recorded into a SeeTrain run, streamed or not, tool calls included.

    import ollama
    from integrations.main import enable_ollama_autolog

    autolog = enable_ollama_autolog(project="local-llm", experiment_name="chat")
    ollama.chat(model="llama3.2", messages=[{"role": "user", "content": "Hi"}])
    for part in ollama.Client().chat(model="llama3.2", messages=[...], stream=True): ...
    autolog.disable()

See docs/integrations/ollama.md.
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["OllamaAutolog", "suppress_autolog"]


class OllamaAutolog(LLMAutolog, provider="ollama"):
    """Autolog of ``Client.chat`` / ``AsyncClient.chat`` (streaming or not)."""
