"""ZhipuAI autolog: every ``ZhipuAI().chat.completions.create`` call (streamed or not) is
recorded into a SeeTrain run, without changing the calls.

    from integrations.main import enable_zhipuai_autolog
    autolog = enable_zhipuai_autolog(project="glm", experiment_name="chat")
    client = zhipuai.ZhipuAI(api_key="...")
    client.chat.completions.create(model="glm-4-plus", messages=[...])
    autolog.disable()

See ``docs/integrations/zhipuai.md``.
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["ZhipuAIAutolog", "suppress_autolog"]


class ZhipuAIAutolog(LLMAutolog, provider="zhipuai"):
    """Autolog of ``chat.completions.create`` (sync, streaming)."""
