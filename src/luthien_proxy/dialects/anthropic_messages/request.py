"""An Anthropic Messages request body as a neutral `Request`, and a policy's changed `Request` back.

`system` (a string or a list of text blocks), `messages` of every role — `user`, `assistant`, and
roles the API may add (Claude Code sends a `system`-role entry) — and `tools` (client tools and
server tools alike) are read; every other field (`max_tokens`, `thinking`, `metadata`,
`context_management`, `output_config`, `stream`...) is a parameter, passed through as sent.
Encoding, an untouched request is the client's very body, and an edited one re-encodes only what
changed, in the client's key order.
"""

from __future__ import annotations

from typing import Any

from luthien_proxy.dialects.anthropic_messages.blocks import decode_blocks, encode_block, encode_blocks
from luthien_proxy.dialects.json_values import Json, json_list, json_object
from luthien_proxy.model import Message, Opaque, Part, Request, Text, Tool

_READ_KEYS = ("model", "system", "messages", "tools")


def _system_parts(value: Any) -> list[Part]:
    if value is None:
        return []
    if isinstance(value, str):
        return [Text(value, field="system")]
    blocks = json_list(value)
    if blocks is None:
        return [Opaque(value, field="system")]
    parts: list[Part] = []
    for block in blocks:
        fields = json_object(block)
        if (
            fields is not None
            and fields.get("type") == "text"
            and isinstance(text := fields.get("text"), str)
        ):
            parts.append(Text(text, field="system", raw=fields))
        else:
            parts.append(Opaque(block, field="system"))
    return parts


def _tool(entry: Any) -> Tool:
    """A client tool (`name`, `description`, `input_schema`) or a server tool (named by its `type`)."""
    fields = json_object(entry)
    if fields is None:
        return Tool("", raw=entry)
    name, description = fields.get("name"), fields.get("description")
    return Tool(
        name if isinstance(name, str) else str(fields.get("type") or ""),
        description if isinstance(description, str) else "",
        fields.get("input_schema"),
        raw=fields,
    )


def decode_message(raw: Any) -> Message:
    """One `messages` entry; an entry that is not an object is kept whole."""
    fields = json_object(raw)
    if fields is None:
        return Message("", [Opaque(raw)], raw=raw)
    role = fields.get("role")
    return Message(
        role if isinstance(role, str) else "", decode_blocks(fields.get("content"), "lenient"), raw=fields
    )


def decode_request(body: Json) -> Request:
    """`body` as a `Request`; nothing in it is lost (`raw` keeps it whole)."""
    model = body.get("model")
    return Request(
        model=model if isinstance(model, str) else "",
        messages=[decode_message(m) for m in json_list(body.get("messages")) or ()],
        system=_system_parts(body.get("system")),
        tools=[_tool(t) for t in json_list(body.get("tools")) or ()],
        params={k: v for k, v in body.items() if k not in _READ_KEYS},
        raw=body,
    )


def encode_message(message: Message) -> Any:
    """A `messages` entry: the client's own when unchanged, else re-encoded from its parts."""
    raw = json_object(message.raw)
    if message.raw is not None and decode_message(message.raw) == message:
        return message.raw
    if raw is None:  # a message a policy added
        return {"role": message.role, "content": encode_blocks(message.parts, None)}
    return {**raw, "role": message.role, "content": encode_blocks(message.parts, raw.get("content"))}


def _encode_system(parts: list[Part], original: Any) -> Any:
    """`system` for `parts`: a string when the client sent one (or none) and all is plain text."""
    if (original is None or isinstance(original, str)) and all(
        isinstance(p, Text) and p.raw is None for p in parts
    ):
        return "\n".join(p.text for p in parts if isinstance(p, Text))
    return [encode_block(part, {}) for part in parts]


def _encode_tool(tool: Tool) -> Any:
    raw = json_object(tool.raw)
    if tool.raw is not None and _tool(tool.raw) == tool:
        return tool.raw
    out: Json = {**(raw or {}), "name": tool.name}
    if tool.description or "description" in out:
        out["description"] = tool.description
    if tool.parameters is not None or raw is None:
        out["input_schema"] = tool.parameters if tool.parameters is not None else {"type": "object"}
    return out


def encode_request(request: Request) -> Json:
    """The Messages body for `request`: its raw body with whatever the policy changed re-encoded."""
    original = json_object(request.raw) or {}
    if original and decode_request(original) == request:
        return original
    body: Json = dict(request.params)
    body["model"] = request.model
    if "system" in original and _system_parts(original["system"]) == request.system:
        body["system"] = original["system"]
    elif request.system:
        body["system"] = _encode_system(request.system, original.get("system"))
    body["messages"] = [encode_message(m) for m in request.messages]
    if "tools" in original and [_tool(t) for t in json_list(original["tools"]) or ()] == request.tools:
        body["tools"] = original["tools"]
    elif request.tools:
        body["tools"] = [_encode_tool(t) for t in request.tools]
    # The client's own key order, so a re-encoded body reads like the one it sent.
    return {**{k: body[k] for k in original if k in body}, **body}
