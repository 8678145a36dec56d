"""An Anthropic Messages response (a non-streamed `message`) as a neutral `Response`, and back.

The content blocks are one `Choice`'s parts, read strictly: a `tool_use` block that is not a call
(an input that is not an object, a name that is not a string) or two calls with one id refuse the
whole answer. Thinking blocks are `Opaque`: their signature covers their text, so no policy may
edit them. A response with calls is always re-encoded from the calls the policy released, and its
`stop_reason` follows them: `tool_use` with calls, `end_turn` when a policy removed them all.
"""

from __future__ import annotations

from luthien_proxy.dialects.anthropic_messages.blocks import decode_blocks, encode_block, original_calls
from luthien_proxy.dialects.json_values import Json, json_list, json_object
from luthien_proxy.model import Choice, MalformedToolCall, Part, Response, ToolCall

#: More calls than this in one answer is refused rather than judged.
MAX_CALLS = 128


def stop_reason(parts: list[Part], reason: str | None) -> str | None:
    """The stop reason that matches the calls `parts` release: a client waits for a tool result
    after `tool_use`, so an answer whose calls were all removed ends its turn."""
    if any(isinstance(part, ToolCall) for part in parts):
        return "tool_use"
    return "end_turn" if reason == "tool_use" else reason


def check_calls(calls: list[ToolCall]) -> None:
    """Refuse more than `MAX_CALLS` calls, or two with one id (a client would pair one result with both)."""
    if len(calls) > MAX_CALLS:
        raise MalformedToolCall(f"an answer may propose at most {MAX_CALLS} tool calls")
    ids = [call.id for call in calls]
    if len(set(ids)) != len(ids):
        raise MalformedToolCall("two tool_use blocks share one id")


def decode_response(body: Json) -> Response:
    """`body` as a `Response`; raises `MalformedToolCall` when its content is not what the
    Messages format allows (a hostile model's answer is refused, not guessed at)."""
    parts = decode_blocks(body.get("content"), "strict")
    check_calls([part for part in parts if isinstance(part, ToolCall)])
    reason = body.get("stop_reason")
    model, usage = body.get("model"), json_object(body.get("usage"))
    return Response(
        [Choice(0, parts, reason if isinstance(reason, str) else None, raw=body)],
        model=model if isinstance(model, str) else "",
        usage=usage,
        raw=body,
    )


def encode_response(response: Response) -> Json:
    """The Messages response for `response`: the model's very body when the policy left it alone
    and it proposes no call, else its body with the content and stop reason written from the parts."""
    if len(response.choices) > 1:
        raise ValueError("an Anthropic message has one choice; the policy returned several")
    original = json_object(response.raw) or {"type": "message", "role": "assistant", "model": response.model}
    choice = response.choices[0] if response.choices else Choice(0, [])
    content = json_list(original.get("content")) or []
    had_calls = any((json_object(block) or {}).get("type") == "tool_use" for block in content)
    if response.raw is not None and not had_calls and decode_response(original) == response:
        return original
    content_calls = original_calls(original.get("content"))
    out: Json = {**original, "content": [encode_block(part, content_calls) for part in choice.parts]}
    # A complete message always says why it stopped (the SDK types it non-null).
    out["stop_reason"] = stop_reason(choice.parts, choice.stop_reason) or "end_turn"
    if response.usage is not None:
        out["usage"] = response.usage
    if response.model:
        out["model"] = response.model
    return out


def response_calls(body: Json) -> list[ToolCall]:
    """The calls of a Messages response, read strictly."""
    return decode_response(body).tool_calls()
