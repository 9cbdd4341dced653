"""Pure functions that turn LLM client traffic into plain-dict *call records*.

One module per provider (``resolvers.openai``, ``resolvers.zhipuai``,
``resolvers.anthropic``, ``resolvers.mistral``, ``resolvers.ollama``, ``resolvers.google_genai``,
``resolvers.cohere``, ``resolvers.dashscope``), each with the same four functions:

``resolve_request(kwargs, operation=...) -> dict``
    A fresh record from the keyword arguments of the client call: fills
    ``provider``, ``operation``, ``model``, ``params``, ``input_messages`` and
    ``stream``; every other field holds its empty value.
``resolve_response(request_record, response) -> dict``
    The request record completed from a non-streaming response.
``resolve_stream(request_record, chunks) -> dict``
    The request record completed from the chunks (OpenAI, ZhipuAI) or events
    (Anthropic) of a stream, however far it got.
``resolve_error(request_record, exc) -> dict``
    The record (possibly already partly filled by a stream) with ``error`` set:
    type = exception class name, status_code = ``exc.status_code`` (or
    ``exc.response.status_code``), message = ``str(exc)``. A wire error body
    (``{"error": {"type"|"code", "message"}}``) is accepted in place of ``exc``.
    An Anthropic stream ``error`` event also sets ``error`` (status_code None).

Each provider module also has ``StreamAccumulator(request_record)`` with
``add(chunk)`` and ``record()``: the incremental form of ``resolve_stream``, so a
stream proxy need not keep every chunk.

Input messages are flattened to text: text parts joined by newlines, a tool
result as its text, other parts as ``[<type>]`` (``[image_url]``, ``[image]``),
and a tool call made by the assistant as ``[tool_call: <name>]``. Stream records
take the first choice only (index 0), as responses do.

Responses, chunks and events may be the client library's pydantic objects or
plain dicts shaped like the wire JSON. Nothing here patches anything or imports a
client library, and nothing raises on unexpected shapes: missing fields stay
``None``/empty (only an error raised by iterating a live ``chunks`` stream
passes through). The input record is never mutated; a new dict is returned.

The record shape, identical for all providers::

    {
        "provider": "openai" | "zhipuai" | "anthropic" | "mistral" | "ollama" | "google_genai" | "cohere"
                    | "dashscope",
        "operation": "chat.completions.create" | "messages.create" | "messages.stream" | "responses.create"
                     | "embeddings.create" | "chat.complete" | "chat.stream" | "chat" | "chat_stream"
                     | "models.generate_content" | "models.generate_content_stream" | "Generation.call",
        "model": str | None,          # request model, replaced by the response's when it has one
        "params": dict,               # request kwargs except model/messages/system and transport
                                      # options (extra_headers, extra_query, timeout), JSON-safe;
                                      # "tools" reduced to the tool names; "stream" always present
        "input_messages": [{"role": str, "content": str}],  # content flattened to text;
                                      # Anthropic "system" becomes a leading system message
        "output_text": str,
        "tool_calls": [{"id": str | None, "name": str | None, "arguments": str}],
        "finish_reason": str | None,  # Anthropic stop_reason as-is ("end_turn", "tool_use", ...)
        "prompt_tokens": int | None,  # Anthropic: input + cache creation + cache read tokens
        "completion_tokens": int | None,
        "total_tokens": int | None,
        "stream": bool,
        "response_id": str | None,
        "error": None | {"type": str, "status_code": int | None, "message": str},
    }
"""
