"""Google GenAI (Gemini) autolog: every ``models.generate_content`` /
``generate_content_stream`` call of a ``google.genai.Client`` (and ``client.aio``) is recorded
into a SeeTrain run, without changing the calls.

    from google import genai
    from integrations.main import enable_google_genai_autolog

    autolog = enable_google_genai_autolog(project="gemini", experiment_name="chat")
    client = genai.Client(api_key="...")
    client.models.generate_content(model="gemini-2.0-flash", contents="Hi")
    autolog.disable()

See docs/integrations/google_genai.md.
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["GoogleGenAIAutolog", "suppress_autolog"]


class GoogleGenAIAutolog(LLMAutolog, provider="google_genai"):
    """Autolog of ``generate_content`` and ``generate_content_stream`` (sync, async)."""
