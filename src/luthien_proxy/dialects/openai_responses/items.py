"""Responses content parts and items as typed parts, and typed parts back as items.

A message's `input_text` / `output_text` / `refusal` parts are `Text` (their type in `field`), a
`function_call` or `custom_tool_call` item is a `ToolCall`, a `function_call_output` a
`ToolResult`; every other part or item (images, reasoning with its encrypted content, web search
calls, types not yet invented) is `Opaque` and goes back whole. Each part keeps its JSON in `raw`,
so `encode_items` puts an edited part back in the very item it came from, keeping every field it
does not change, and writes text a policy added as a new message.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from luthien_proxy.dialects import content_parts
from luthien_proxy.dialects.content_parts import Mode
from luthien_proxy.dialects.openai_responses.shapes import (
    CALL_ITEMS,
    TEXT_KEYS,
    UNJUDGEABLE_CALLS,
    Json,
    item_type,
    json_list,
    json_object,
    string_field,
    text_of,
)
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

#: How parts are read: a request's history (`lenient`: what is not a call stays whole), or a
#: model's answer (`strict`: a malformed call, or a call hidden in a message, is refused).
RESULT_ITEMS = frozenset(("function_call_output", "custom_tool_call_output"))


def decode_part(part: Any, position: int, mode: Mode) -> Part:
    """One content part of a message as a part."""
    fields = json_object(part)
    if fields is None:
        if mode == "strict":
            raise MalformedToolCall(f"content part {position} must be an object")
        return Opaque(part)
    kind = fields.get("type")
    text = text_of(fields)
    if text is not None and isinstance(kind, str):
        return Text(text, field=kind, raw=fields)
    if mode == "strict" and (kind in TEXT_KEYS or kind in CALL_ITEMS or kind in UNJUDGEABLE_CALLS):
        raise MalformedToolCall(f"content part {position}: a message may not carry this {kind} part")
    return Opaque(fields, field=str(kind or "content"))


def decode_content(content: Any, mode: Mode) -> list[Part]:
    """A message's `content` as parts: a string is one text part, a list one part per entry."""
    return content_parts.decode_content(content, mode, decode_part, "content", "parts")


def decode_call(item: Json, position: int) -> ToolCall:
    """A `function_call` / `custom_tool_call` item read strictly: string fields, JSON-object arguments."""
    kind = item_type(item)
    call_kind, key = CALL_ITEMS[kind][:2]
    what = f"{kind} item {position}"
    call_id = string_field(item, "call_id", what) or f"call_luthien_{position}"
    name = string_field(item, "name", what)
    return ToolCall.from_model(call_id, name, string_field(item, key, what), 0, call_kind)


def call_item(call: ToolCall, original: Json | None) -> Json:
    """The item for `call`, keeping the fields of the model's own item (`id`, `namespace`, `status`)."""
    kind = "custom_tool_call" if call.kind == "custom" else "function_call"
    key = CALL_ITEMS[kind][1]
    base = original if original is not None and item_type(original) == kind else {"type": kind}
    # What the client runs is what was judged: the arguments re-encoded from the call.
    arguments = call.arguments if call.kind == "custom" else canonical_arguments(call.arguments)
    return {**base, "call_id": call.id, "name": call.name, key: arguments}


def result_text(output: Any) -> str:
    """The text of a call's output: a string, or its text parts one per line."""
    if isinstance(output, str):
        return output
    texts = (text_of(p) for p in (json_object(e) for e in json_list(output) or ()) if p is not None)
    return "\n".join(text for text in texts if text is not None)


def _result_output(original: Any, text: str) -> Any:
    """A result's new text in the client's form: a string, or its list with the text parts
    replaced by one (images and files kept, in place)."""
    entries = json_list(original)
    if entries is None:
        return text
    out: list[Any] = []
    placed = False
    for entry in entries:
        fields = json_object(entry)
        if fields is None or text_of(fields) is None:
            out.append(entry)
        elif not placed:
            out.append({**fields, TEXT_KEYS[str(fields["type"])]: text})
            placed = True
    if not placed:
        out.insert(0, {"type": "input_text", "text": text})
    return out


def result_item(part: ToolResult) -> Json:
    """The output item for `part`: the client's own when unchanged, else its fields with the new text."""
    raw = json_object(part.raw)
    if (
        raw is not None
        and result_text(raw.get("output")) == part.content
        and raw.get("call_id") == part.call_id
    ):
        return raw
    base = raw if raw is not None and item_type(raw) in RESULT_ITEMS else {"type": "function_call_output"}
    return {**base, "call_id": part.call_id, "output": _result_output(base.get("output"), part.content)}


def encode_part(part: Part, text_type: str) -> Any:
    """The content part for `part`; new text is a `text_type` part (`input_text`, `output_text`)."""
    if isinstance(part, Text | Reasoning):
        raw = json_object(part.raw)
        kind = raw.get("type") if raw is not None else None
        if raw is not None and isinstance(kind, str) and kind in TEXT_KEYS:
            key = TEXT_KEYS[kind]
            if raw.get(key) == part.text:
                return raw
            # The model's logprobs spell out the text the policy replaced: they do not go with it.
            return {**{k: v for k, v in raw.items() if k != "logprobs"}, key: part.text}
        kind = "refusal" if part.field == "refusal" else text_type
        new: Json = {"type": kind, TEXT_KEYS.get(kind, "text"): part.text}
        if kind == "output_text":
            new["annotations"] = []
        return new
    if isinstance(part, Opaque):
        return part.raw
    raise ValueError(f"a {type(part).__name__} cannot be a message's content part")


def encode_content(parts: list[Part], original: Any, text_type: str) -> Any:
    """`content` for `parts`: a string when the client sent one and every part is still plain text
    (text a policy added goes on a line of its own), else a list of parts."""
    if isinstance(original, str) and all(isinstance(p, Text) and p.raw is None for p in parts):
        return "\n".join(p.text for p in parts if isinstance(p, Text))
    return [encode_part(part, text_type) for part in parts]


def encode_items(
    parts: list[Part],
    originals: list[Any],
    text_type: str,
    new_message: Callable[[int], Json],
    home: Json | None = None,
) -> list[Any]:
    """The items that carry `parts`: consecutive parts that came from one message back in it, calls
    and results as their own items, an `Opaque` whole item as it came; text with no item of its own
    goes to `home` (the request message it was read from) or a `new_message(n)`."""
    whole = {id(item): item for item in originals}
    owner: dict[int, Json] = {}
    calls: dict[str, Json] = {}
    for entry in originals:
        item = json_object(entry)
        if item is None:
            continue
        kind = item_type(item)
        if kind == "message":
            owner.update((id(p), item) for p in json_list(item.get("content")) or ())
        elif kind in CALL_ITEMS and isinstance(call_id := item.get("call_id"), str):
            calls[call_id] = item
    out: list[Any] = []
    used: set[int] = set()
    group: list[Part] = []
    group_owner: Json | None = None

    def flush() -> None:
        nonlocal group
        if not group:
            return
        if group_owner is None:
            base = new_message(len(out))
        elif id(group_owner) in used:  # the policy split one message: the rest is a message of its own
            base = {**new_message(len(out)), **{k: v for k, v in group_owner.items() if k != "id"}}
        else:
            base = group_owner
            used.add(id(group_owner))
        content = encode_content(group, base.get("content"), text_type)
        out.append(base if base.get("content") == content else {**base, "content": content})
        group = []

    for part in parts:
        if isinstance(part, ToolCall | ToolResult) or (isinstance(part, Opaque) and id(part.raw) in whole):
            flush()
            if isinstance(part, ToolCall):
                out.append(call_item(part, calls.get(part.id)))
            elif isinstance(part, ToolResult):
                out.append(result_item(part))
            else:
                out.append(part.raw)
            continue
        part_owner = owner.get(id(part.raw), home) if part.raw is not None else home
        if group and part_owner is not group_owner:
            flush()
        group_owner = part_owner
        group.append(part)
    flush()
    return out
