"""An OpenAI chat completion as a neutral `Response` (every call read strictly), and back.

A choice that proposes calls is always written from its parts, so the client receives the calls
the policy judged, canonical, and never the model's own bytes; a choice without calls that the
policy left alone goes back as the model sent it.
"""

from __future__ import annotations

from typing import Any, cast

from luthien_proxy.dialects.json_values import json_object
from luthien_proxy.dialects.openai_chat.calls import response_calls
from luthien_proxy.dialects.openai_chat.messages import encode_message, finish_reason, message_parts
from luthien_proxy.model import Choice, Response, ToolCall

Json = dict[str, Any]


def decode_response(body: Json) -> Response:
    """`body` as a `Response`; raises `MalformedToolCall` when a choice or call is not what the chat
    format allows (a hostile model's answer is refused, not guessed at)."""
    by_choice: dict[int, list[ToolCall]] = {}
    for call in response_calls(body):
        by_choice.setdefault(call.choice, []).append(call)
    choices: list[Choice] = []
    for position, raw in enumerate(cast("list[Json]", body.get("choices") or [])):
        index = cast("int", raw.get("index", position))
        message = raw.get("message")
        parts = (
            message_parts(cast("Json", message), by_choice.get(index, []))
            if isinstance(message, dict)
            else []
        )
        choices.append(Choice(index, parts, raw.get("finish_reason"), raw=raw))
    model = body.get("model")
    usage = body.get("usage")
    return Response(
        choices,
        model=model if isinstance(model, str) else "",
        usage=cast("Json", usage) if isinstance(usage, dict) else None,
        raw=body,
    )


def _choice(choice: Choice) -> Json:
    raw: Json = json_object(choice.raw) or {"index": choice.index}
    calls = choice.tool_calls()
    sent = json_object(raw.get("message"))
    had_calls = sent is not None and any(sent.get(k) for k in ("tool_calls", "function_call"))
    original = message_parts(sent, []) if sent is not None else []
    untouched = original == choice.parts and raw.get("finish_reason") == choice.stop_reason
    if choice.raw is not None and not calls and not had_calls and untouched:
        return raw
    message = sent if sent is not None else {"role": "assistant"}
    out: Json = {**raw, "index": choice.index, "message": encode_message(choice.parts, message)}
    out["finish_reason"] = finish_reason(choice.parts, choice.stop_reason)
    if calls or had_calls or original != choice.parts:
        # Logprobs spell out the model's own tokens: a call's, or the text a policy changed.
        out.pop("logprobs", None)
    return out


def encode_response(response: Response) -> Json:
    """The chat completion for `response`: its raw body with every choice written from its parts."""
    original = json_object(response.raw) or {"object": "chat.completion"}
    return {**original, "choices": [_choice(choice) for choice in response.choices]}
