"""An OpenAI chat request body as a neutral `Request`, and a policy's changed `Request` back.

Also reads what LiteLLM's other routes put in a request (`prompt`, `input`, `system`,
`instructions`), so a rule searching `Request.text()` sees every text that reaches a model.
"""

from __future__ import annotations

from typing import Any, cast

from luthien_proxy.dialects.json_values import json_object
from luthien_proxy.dialects.openai_chat.messages import encode_message, message_parts
from luthien_proxy.model import Message, Opaque, Part, Request, Text, Tool

Json = dict[str, Any]
_TOOL_KEYS = ("tools", "functions")
#: Top-level fields of non-chat routes that carry text to the model: read as the request's system
#: parts (`system`, `instructions`) or as a user message (`prompt`, `input`).
_SYSTEM_KEYS = ("system", "instructions")
_INPUT_KEYS = ("prompt", "input")
_LOOSE_KEYS = (*_SYSTEM_KEYS, *_INPUT_KEYS)
_READ_KEYS = ("model", "messages", *_TOOL_KEYS, *_LOOSE_KEYS)


def _loose_parts(key: str, value: Any) -> list[Part]:
    """A `prompt`, `input`, `system` or `instructions` value: a string, parts, or message items."""
    if isinstance(value, str):
        return [Text(value, field=key)]
    parts: list[Part] = []
    if isinstance(value, list):
        for item in cast("list[Any]", value):
            if isinstance(item, str):
                parts.append(Text(item, field=key))
            elif isinstance(item, dict):
                item = cast("Json", item)
                for name in ("text", "arguments", "output"):
                    if isinstance(item.get(name), str):
                        parts.append(Text(item[name], field=key))
                parts.extend(_loose_parts(key, item.get("content")))
    return parts


def _tool(entry: Any) -> Tool:
    if not isinstance(entry, dict):
        return Tool("", raw=entry)
    entry = cast("Json", entry)
    function = entry.get("function")
    body = cast("Json", function) if isinstance(function, dict) else entry
    name, description = body.get("name"), body.get("description")
    return Tool(
        name if isinstance(name, str) else str(entry.get("type") or ""),
        description if isinstance(description, str) else "",
        body.get("parameters"),
        raw=entry,
    )


def decode_message(raw: Any) -> Message:
    if not isinstance(raw, dict):
        return Message("", [Opaque(raw)], raw=raw)
    raw = cast("Json", raw)
    return Message(str(raw.get("role") or ""), message_parts(raw), raw=raw)


def decode_request(body: Json) -> Request:
    """`body` as a `Request`; nothing in it is lost (`raw` keeps it whole)."""
    messages = [decode_message(m) for m in body.get("messages") or ()]
    inputs = [part for key in _INPUT_KEYS for part in _loose_parts(key, body.get(key))]
    if inputs:
        messages.append(Message("user", inputs))  # no `raw`: it is not a chat message
    model = body.get("model")
    return Request(
        model=model if isinstance(model, str) else "",
        messages=messages,
        system=[part for key in _SYSTEM_KEYS for part in _loose_parts(key, body.get(key))],
        tools=[_tool(t) for key in _TOOL_KEYS for t in body.get(key) or ()],
        params={k: v for k, v in body.items() if k not in _READ_KEYS},
        raw=body,
    )


def _unchanged(item: Message | Tool, decode: Any) -> bool:
    return item.raw is not None and decode(item.raw) == item


def _is_loose_input(message: Message) -> bool:
    """Whether `message` is the text of a non-chat route's `prompt` / `input` (not a chat message)."""
    return message.raw is None and all(
        isinstance(part, Text) and part.field in _INPUT_KEYS for part in message.parts
    )


def encode_messages(messages: list[Message]) -> list[Any]:
    """Chat messages from `messages`: an unchanged one as the client sent it, a changed or new one
    encoded from its parts."""
    out: list[Any] = []
    for message in messages:
        if _is_loose_input(message):
            continue  # written back to its own `prompt` / `input` field (`encode_request`)
        if message.raw is None:
            out.append(encode_message(message.parts, {"role": message.role}))  # one a policy added
        elif _unchanged(message, decode_message):
            out.append(message.raw)
        else:
            out.append(encode_message(message.parts, {**cast("Json", message.raw), "role": message.role}))
    return out


def _loose_fields(request: Request, original: Json) -> Json:
    """The `system` / `instructions` / `prompt` / `input` values to send: the client's own where the
    policy left their text alone, else the policy's text as one string (each route takes a string
    there). A changed list is refused rather than sent unedited: its items cannot be rebuilt."""
    inputs = [part for m in request.messages if _is_loose_input(m) for part in m.parts]
    texts = [part for part in (*request.system, *inputs) if isinstance(part, Text)]
    out: Json = {}
    for key in _LOOSE_KEYS:
        mine = [part for part in texts if part.field == key]
        value = original.get(key)
        if mine == _loose_parts(key, value):
            if key in original:
                out[key] = value
        elif isinstance(value, list):
            raise ValueError(
                f"a policy changed the text of the request's {key!r} list, which cannot be re-encoded"
            )
        else:
            out[key] = "\n".join(part.text for part in mine)
    return out


def encode_request(request: Request) -> Json:
    """The chat body for `request`: its raw body with whatever the policy changed re-encoded."""
    original = json_object(request.raw) or {}
    if original and decode_request(original) == request:
        return original
    body: Json = dict(request.params)
    body["model"] = request.model
    body.update(_loose_fields(request, original))
    messages = encode_messages(request.messages)
    # System parts a policy added (not read from a `system` / `instructions` field): a system message.
    added = [p for p in request.system if not (isinstance(p, Text) and p.field in _SYSTEM_KEYS)]
    if added:
        messages.insert(0, encode_message(added, {"role": "system"}))
    if messages or "messages" in original:
        body["messages"] = messages
    if request.tools:
        if _tools_unchanged(request, original):
            body.update({key: original[key] for key in _TOOL_KEYS if key in original})
        else:
            body["tools"] = [t.raw if _unchanged(t, _tool) else _tool_entry(t) for t in request.tools]
    # The client's own key order, so a re-encoded body reads like the one it sent.
    return {**{k: body[k] for k in original if k in body}, **body}


def _tools_unchanged(request: Request, original: Json) -> bool:
    return [_tool(t) for key in _TOOL_KEYS for t in original.get(key) or ()] == request.tools


def _tool_entry(tool: Tool) -> Json:
    function: Json = {"name": tool.name, "description": tool.description}
    if tool.parameters is not None:
        function["parameters"] = tool.parameters
    return {"type": "function", "function": function}
