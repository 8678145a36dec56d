"""An OpenAI chat message (or a choice's message) as typed parts, and typed parts back as a message.

The parts come from the same fields the text helpers read (`content` as a string or a list of
parts, `refusal`, `reasoning_content`, `reasoning`), the calls from `tool_calls` and the legacy
`function_call`, a tool result from a `tool` (or legacy `function`) message. Fields the model does
not read as parts (`name`, `audio`, provider extras) stay in the message as they were.
"""

from __future__ import annotations

from typing import Any, cast

from luthien_proxy.dialects.openai_chat.calls import call_entry, legacy_entry
from luthien_proxy.dialects.openai_chat.text import TEXT_FIELDS
from luthien_proxy.model import Opaque, Part, Reasoning, Text, ToolCall, ToolResult

Json = dict[str, Any]
REASONING_FIELDS = ("reasoning_content", "reasoning")
_CALL_FIELDS = ("tool_calls", "function_call")
#: The fields a message's parts are read from and written back to.
PART_FIELDS = (*TEXT_FIELDS, *_CALL_FIELDS)
_RESULT_ROLES = ("tool", "function")


def _field_parts(name: str, value: Any) -> list[Part]:
    kind = Reasoning if name in REASONING_FIELDS else Text
    if isinstance(value, str):
        return [kind(value, field=name)] if value else []
    if not isinstance(value, list):
        return [] if value is None else [Opaque(value, field=name)]
    parts: list[Part] = []
    for entry in cast("list[Any]", value):
        if isinstance(entry, str):
            parts.append(kind(entry, field=name, raw=entry))
        elif isinstance(entry, dict) and isinstance(text := cast("Json", entry).get("text"), str):
            parts.append(kind(text, field=name, raw=entry))
        else:
            parts.append(Opaque(entry, field=name))
    return parts


def history_calls(message: Json) -> list[Part]:
    """The calls of a message in the client's history, read as sent (a client's history is not
    re-judged, only searched): an entry that is not a call is kept whole."""
    parts: list[Part] = []
    for position, entry in enumerate(cast("list[Any]", message.get("tool_calls") or [])):
        fields = cast("Json", entry) if isinstance(entry, dict) else {}
        holder = fields.get("function") or fields.get("custom")
        if not isinstance(holder, dict):
            parts.append(Opaque(entry, field="tool_calls"))
            continue
        body = cast("Json", holder)
        kind = "custom" if fields.get("type") == "custom" or "custom" in fields else "function"
        text = body.get("input" if kind == "custom" else "arguments")
        parts.append(
            ToolCall(
                str(fields.get("id") or f"call_{position}"),
                str(body.get("name") or ""),
                text if isinstance(text, str) else "",
                kind=kind,
            )
        )
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        legacy_fields = cast("Json", legacy)
        arguments = legacy_fields.get("arguments")
        name = str(legacy_fields.get("name") or "")
        parts.append(
            ToolCall("function_call", name, arguments if isinstance(arguments, str) else "", kind="legacy")
        )
    return parts


def message_parts(message: Json, calls: list[ToolCall] | None = None) -> list[Part]:
    """The parts of `message`: reasoning, text, then the calls (`calls` when the caller has read
    them strictly, else as the history sent them) or, for a tool message, its result."""
    parts: list[Part] = []
    for name in (*REASONING_FIELDS, "content", "refusal"):
        parts.extend(_field_parts(name, message.get(name)))
    if message.get("role") in _RESULT_ROLES:
        text = "".join(p.text for p in parts if isinstance(p, Text))
        call_id = message.get("tool_call_id") or message.get("name") or ""
        result: list[Part] = [ToolResult(str(call_id), text, raw=message)]
        return result + [p for p in parts if not isinstance(p, Text)]
    parts.extend(history_calls(message) if calls is None else calls)
    return parts


def _field_value(parts: list[Part], original: Any) -> Any:
    """One text field written from its parts: a string when it was one (or is new), else a list."""
    if isinstance(original, list) or any(isinstance(p, Opaque) for p in parts):
        out: list[Any] = []
        for part in parts:
            if isinstance(part, Opaque):
                out.append(part.raw)
            elif isinstance(part, Text | Reasoning):
                raw = part.raw
                out.append(
                    {**cast("Json", raw), "text": part.text}
                    if isinstance(raw, dict)
                    else {"type": "text", "text": part.text}
                )
        return out
    # A string field decodes to one part; more are text a policy added, on lines of their own.
    return "\n".join(p.text for p in parts if isinstance(p, Text | Reasoning))


def encode_message(parts: list[Part], original: Json) -> Json:
    """`original` with its part fields rewritten from `parts` (calls re-encoded from what was judged)."""
    message = {k: v for k, v in original.items() if k not in PART_FIELDS}
    by_field: dict[str, list[Part]] = {}
    calls: list[ToolCall] = []
    for part in parts:
        if isinstance(part, ToolCall):
            calls.append(part)
        elif isinstance(part, ToolResult):
            message["content"] = part.content
        elif isinstance(part, Opaque) and part.field in _CALL_FIELDS:
            message.setdefault("tool_calls", []).append(part.raw)
        else:
            by_field.setdefault(part.field, []).append(part)
    for name, mine in by_field.items():
        message[name] = _field_value(mine, original.get(name))
    if "content" in original and "content" not in message:
        message["content"] = None  # a message whose text a policy removed keeps the field, empty
    entries = [call_entry(call) for call in calls if call.kind != "legacy"]
    if entries:
        message["tool_calls"] = [*message.get("tool_calls", []), *entries]
    legacy = next((call for call in calls if call.kind == "legacy"), None)
    if legacy is not None:
        message["function_call"] = legacy_entry(legacy)
    return message


def finish_reason(parts: list[Part], reason: str | None) -> str | None:
    """The finish reason that matches the calls `parts` release: a blocked call's choice stops."""
    kinds = {part.kind for part in parts if isinstance(part, ToolCall)}
    if kinds - {"legacy"}:
        return "tool_calls"
    if kinds:
        return "function_call"
    return "stop" if reason in _CALL_FIELDS else reason
