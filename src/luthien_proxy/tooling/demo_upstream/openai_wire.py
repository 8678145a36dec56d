"""OpenAI chat encoder of the neutral scripted answers, and the neutral view of an OpenAI conversation."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson

from luthien_proxy.tooling.demo_upstream import responses as r
from luthien_proxy.tooling.demo_upstream.answers import Answer, Call, Turn, offered_tools


def _text_parts(content: Any) -> tuple[str, ...]:
    if isinstance(content, str):
        return (content,)
    if isinstance(content, list):
        return tuple(
            p["text"]
            for p in content
            if isinstance(p, Mapping) and p.get("type") == "text" and isinstance(p.get("text"), str)
        )
    return ()


def openai_turn(messages: Sequence[Any], tools: Any = None) -> Turn:
    """The scripts' view of chat `messages` and `tools`: a last `tool` message is the result they end on."""
    parts: tuple[str, ...] = ()
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            parts = _text_parts(message.get("content"))
            break
    last = messages[-1] if messages else None
    result = None
    if isinstance(last, Mapping) and last.get("role") == "tool":
        result = r.message_text(last.get("content"))
    return Turn(r.last_user_text(messages), parts, result, len(messages), offered_tools(tools))


def _call_entry(call: Call) -> dict[str, Any]:
    function = {"name": call.name, "arguments": call.arguments}
    return {"id": f"call_{call.id}", "type": "function", "function": function}


def answer_completion(model: str, answer: Answer, prompt: int) -> bytes:
    """A non-streamed chat.completion carrying the answer's text (None when empty) and calls."""
    message: dict[str, Any] = {"role": "assistant", "content": answer.text if answer.pieces else None}
    if answer.calls:
        message["tool_calls"] = [_call_entry(c) for c in answer.calls]
    choice = {
        "index": 0,
        "message": message,
        "finish_reason": "tool_calls" if answer.calls else "stop",
        "logprobs": None,
    }
    body = {
        "id": r.new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [choice],
        "usage": r.usage(prompt, answer.output_tokens()),
    }
    return orjson.dumps(body)


def answer_frames(writer: r.ChunkWriter, answer: Answer) -> Iterator[bytes]:
    """Stream frames: role, text piece by piece, each call's id/name then its argument fragments, finish.

    With no text the role rides on the first call's frame (`content: null`), as OpenAI sends it.
    """
    role_sent = bool(answer.pieces)
    if role_sent:
        yield writer.frame({"role": "assistant", "content": ""})
    for piece in answer.pieces:
        yield writer.frame({"content": piece})
    for index, call in enumerate(answer.calls):
        head = {**_call_entry(call), "index": index}
        head["function"] = {"name": call.name, "arguments": ""}
        delta: dict[str, Any] = {"tool_calls": [head]}
        if not role_sent:
            delta = {"role": "assistant", "content": None, **delta}
            role_sent = True
        yield writer.frame(delta)
        for fragment in call.fragments():
            yield writer.frame({"tool_calls": [{"index": index, "function": {"arguments": fragment}}]})
    if not role_sent:
        yield writer.frame({"role": "assistant", "content": ""})
    yield writer.frame({}, "tool_calls" if answer.calls else "stop")
