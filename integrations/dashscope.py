"""DashScope (Qwen) autolog: every ``dashscope.Generation.call`` (and ``AioGeneration.call``) is
recorded into a SeeTrain run, streamed or not, without changing the calls. DashScope returns API
errors as responses (``status_code != 200``); they are recorded as errors.

    import dashscope
    from integrations.main import enable_dashscope_autolog

    autolog = enable_dashscope_autolog(project="qwen", experiment_name="chat")
    dashscope.Generation.call(model="qwen-plus", messages=[...], result_format="message")
    autolog.disable()

See docs/integrations/dashscope.md.
"""

from __future__ import annotations

from integrations._autolog import LLMAutolog, suppress_autolog

__all__ = ["DashScopeAutolog", "suppress_autolog"]


class DashScopeAutolog(LLMAutolog, provider="dashscope"):
    """Autolog of ``Generation.call`` / ``AioGeneration.call``."""
