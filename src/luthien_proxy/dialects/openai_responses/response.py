"""A Responses API response object (not streamed) as a neutral `Response`, and back.

Its `output` items are one `Choice`'s parts, read strictly: a `function_call` that is not a call
(arguments that are not a JSON object, fields that are not strings), two calls with one `call_id`,
a call hidden in a message's content, or an item a client would run that no `ToolCall` carries
(`local_shell_call`, `shell_call`, `apply_patch_call`, `computer_call`) refuses the whole answer.
Reasoning items are `Opaque`: their encrypted content goes back untouched. An answer without calls
the policy left alone is the model's very body; one with calls is always written from the calls the
policy released, and text that replaced a call is a message item of its own.
"""

from __future__ import annotations

from typing import Any

from luthien_proxy.dialects.openai_responses.items import decode_call, decode_content, encode_items
from luthien_proxy.dialects.openai_responses.shapes import (
    CALL_ITEMS,
    MAX_CALLS,
    UNJUDGEABLE_CALLS,
    Json,
    item_type,
    json_list,
    json_object,
)
from luthien_proxy.model import Choice, MalformedToolCall, Opaque, Part, Response, ToolCall


def decode_output_item(item: Any, position: int) -> list[Part]:
    """One output item as parts: a message's content parts, a call, or the item whole."""
    fields = json_object(item)
    if fields is None:
        raise MalformedToolCall(f"output item {position} must be an object")
    kind = item_type(fields)
    if kind in UNJUDGEABLE_CALLS:
        raise MalformedToolCall(f"output item {position}: a {kind} runs on the client and cannot be judged")
    if kind in CALL_ITEMS:
        return [decode_call(fields, position)]
    if kind == "message":
        return decode_content(fields.get("content"), "strict") or [Opaque(fields, field=kind)]
    return [Opaque(fields, field=kind or "item")]


def check_calls(calls: list[ToolCall]) -> None:
    """Refuse more than `MAX_CALLS` calls, or two with one `call_id` (a client would pair one
    output with both)."""
    if len(calls) > MAX_CALLS:
        raise MalformedToolCall(f"an answer may propose at most {MAX_CALLS} tool calls")
    ids = [call.id for call in calls]
    if len(set(ids)) != len(ids):
        raise MalformedToolCall("two calls share one call_id")


def decode_response(body: Json) -> Response:
    """`body` as a `Response`; raises `MalformedToolCall` when its output is not what the Responses
    format allows (a hostile model's answer is refused, not guessed at)."""
    output = body.get("output")
    items = json_list(output) if output is not None else []
    if items is None:
        raise MalformedToolCall("a response's output must be a list")
    parts = [part for n, item in enumerate(items) for part in decode_output_item(item, n)]
    check_calls([part for part in parts if isinstance(part, ToolCall)])
    status, model, usage = body.get("status"), body.get("model"), json_object(body.get("usage"))
    return Response(
        [Choice(0, parts, status if isinstance(status, str) else None, raw=body)],
        model=model if isinstance(model, str) else "",
        usage=usage,
        raw=body,
    )


def new_message(n: int) -> Json:
    """An output message a policy's text goes in (`n` makes its id unique in the output)."""
    return {
        "id": f"msg_luthien_{n}",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [],
    }


def encode_response(response: Response) -> Json:
    """The response object for `response`: the model's very body when the policy left it alone and
    it proposes no call, else its body with the output written from the parts."""
    if len(response.choices) > 1:
        raise ValueError("a Responses API response has one output; the policy returned several choices")
    original = json_object(response.raw) or {"object": "response", "status": "completed", "output": []}
    choice = response.choices[0] if response.choices else Choice(0, [])
    output = json_list(original.get("output")) or []
    had_calls = any(item_type(json_object(item) or {}) in CALL_ITEMS for item in output)
    if response.raw is not None and not had_calls and decode_response(original) == response:
        return original
    out: Json = {**original, "output": encode_items(choice.parts, output, "output_text", new_message)}
    if response.usage is not None:
        out["usage"] = response.usage
    if response.model:
        out["model"] = response.model
    return out
