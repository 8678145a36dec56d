"""Anthropic content blocks as typed parts, and typed parts back as blocks.

`text` → `Text`, `tool_use` → `ToolCall` (arguments: the canonical JSON of `input`), `tool_result`
→ `ToolResult`, a request's `thinking` → `Reasoning`; every other block (images, documents,
redacted thinking, server tool blocks, types not yet invented) is `Opaque` and goes back whole.
Each part keeps its block in `raw`, so a block the policy left alone is written back as it came,
and an edited one keeps every field it does not change (`cache_control`, `citations`, `signature`).
"""

from __future__ import annotations

import json
from typing import Any

from luthien_proxy.dialects.content_parts import Mode, decode_content
from luthien_proxy.dialects.json_values import Json, json_list, json_object
from luthien_proxy.model import (
    MalformedToolCall,
    Opaque,
    Part,
    Reasoning,
    Text,
    ToolCall,
    ToolResult,
    canonical_arguments,
)

#: How a block list is read: a request's history (`lenient`: a call that is not one stays whole),
#: or a model's answer (`strict`: a malformed call is refused, thinking is not a policy's to edit).


def input_arguments(value: Any, what: str) -> str:
    """A `tool_use` block's `input` (absent: `{}`) as canonical JSON; anything but an object is refused."""
    if value is None:
        return "{}"
    if not isinstance(value, dict):
        raise MalformedToolCall(f"{what}: input must be an object, got {type(value).__name__}")
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError) as exc:
        raise MalformedToolCall(f"{what}: input cannot be encoded ({type(exc).__name__})") from None
    return canonical_arguments(text)


def string_field(fields: Json, key: str, what: str) -> str:
    """`fields[key]` when it is a string, "" when absent; anything else is refused."""
    value = fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedToolCall(f"{what}: {key} must be a string, got {type(value).__name__}")
    return value


def tool_call(block: Json, position: int) -> ToolCall:
    """A `tool_use` block read strictly: string id and name, an object input."""
    what = f"tool_use block {position}"
    call_id = string_field(block, "id", what) or f"toolu_luthien_{position}"
    return ToolCall(call_id, string_field(block, "name", what), input_arguments(block.get("input"), what))


def result_text(content: Any) -> str:
    """The text of a `tool_result`'s content: a string, or its text blocks one per line."""
    if isinstance(content, str):
        return content
    texts = (json_object(b) or {} for b in json_list(content) or ())
    return "\n".join(t for b in texts if b.get("type") == "text" and isinstance(t := b.get("text"), str))


def decode_block(block: Any, position: int, mode: Mode) -> Part:
    """One content block as a part."""
    fields = json_object(block)
    if fields is None:
        if mode == "strict":
            raise MalformedToolCall(f"content block {position} must be an object")
        return Opaque(block)
    kind = fields.get("type")
    if kind == "text" and isinstance(text := fields.get("text"), str):
        return Text(text, field="text", raw=fields)
    if kind == "tool_use":
        if mode == "strict":
            return tool_call(fields, position)
        try:
            return tool_call(fields, position)
        except MalformedToolCall:
            return Opaque(fields)  # history is searched, not judged: keep what is not a call whole
    if kind == "tool_result" and mode == "lenient":
        return ToolResult(
            str(fields.get("tool_use_id") or ""),
            result_text(fields.get("content")),
            fields.get("is_error") is True,
            raw=fields,
        )
    if kind == "thinking" and mode == "lenient" and isinstance(thinking := fields.get("thinking"), str):
        return Reasoning(thinking, field="thinking", raw=fields)
    if mode == "strict" and kind == "text":
        raise MalformedToolCall(f"text block {position}: text must be a string")
    return Opaque(fields, field=str(kind or "content"))


def decode_blocks(content: Any, mode: Mode) -> list[Part]:
    """A message's `content` as parts: a string is one text part, a list one part per block."""
    return decode_content(content, mode, decode_block, "text", "blocks")


def _edited(raw: Any, key: str, value: str, default: Json) -> Json:
    fields = json_object(raw)
    if fields is None:
        return {**default, key: value}
    return fields if fields.get(key) == value else {**fields, key: value}


def _call_input(call: ToolCall) -> Json:
    parsed = call.parsed_arguments()
    if not isinstance(parsed, dict):
        raise ValueError(f"tool call {call.id}: arguments are not a JSON object, cannot be a tool_use input")
    return json_object(parsed) or {}


def _result_content(original: Any, text: str) -> Any:
    """A tool result's new text in the form the client sent: a string, or its list with the text
    blocks replaced by one (images and other blocks kept, in place)."""
    blocks = json_list(original)
    if blocks is None:
        return text
    out: list[Any] = []
    placed = False
    for block in blocks:
        fields = json_object(block)
        if fields is None or fields.get("type") != "text":
            out.append(block)
        elif not placed:
            out.append({**fields, "text": text})
            placed = True
    if not placed:
        out.insert(0, {"type": "text", "text": text})
    return out


def _result_block(part: ToolResult) -> Json:
    raw = json_object(part.raw)
    if raw is not None and decode_block(raw, 0, "lenient") == part:
        return raw
    out: Json = {**(raw or {"type": "tool_result"}), "tool_use_id": part.call_id}
    out["content"] = _result_content(out.get("content"), part.content)
    if part.is_error or "is_error" in out:
        out["is_error"] = part.is_error
    return out


def encode_block(part: Part, calls: dict[str, Json]) -> Any:
    """The block for `part`; `calls` are the original `tool_use` blocks by id, whose other fields a
    call keeps (`cache_control`, `caller`)."""
    if isinstance(part, Text):
        return _edited(part.raw, "text", part.text, {"type": "text"})
    if isinstance(part, Reasoning):
        # An edited thinking text keeps its signature untouched: the provider judges it, not us.
        return _edited(part.raw, "thinking", part.text, {"type": "thinking"})
    if isinstance(part, ToolCall):
        original = calls.get(part.id, {"type": "tool_use"})
        return {**original, "id": part.id, "name": part.name, "input": _call_input(part)}
    if isinstance(part, ToolResult):
        return _result_block(part)
    return part.raw


def original_calls(content: Any) -> dict[str, Json]:
    """The `tool_use` blocks of `content` by id."""
    blocks = (json_object(b) for b in json_list(content) or ())
    return {b["id"]: b for b in blocks if b and b.get("type") == "tool_use" and isinstance(b.get("id"), str)}


def encode_blocks(parts: list[Part], original: Any) -> Any:
    """`content` for `parts`: a string when the client sent one and every part is still plain text
    (text a policy added goes on a line of its own), else a list of blocks."""
    if isinstance(original, str) and all(isinstance(p, Text) and p.raw is None for p in parts):
        return "\n".join(p.text for p in parts if isinstance(p, Text))
    calls = original_calls(original)
    return [encode_block(part, calls) for part in parts]
