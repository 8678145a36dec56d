"""A Responses API request body as a neutral `Request`, and a policy's changed `Request` back.

`input` (a string, or a list of items: messages of every role, `function_call`, `function_call_output`,
reasoning with its encrypted content, types not yet invented — one `Message` per item), `instructions`
(the system text) and `tools` (functions, `namespace` tools holding more, `web_search`, custom and
unknown tools) are read; every other field (`tool_choice`, `reasoning`, `store`, `include`,
`prompt_cache_key`, `client_metadata`, `stream`...) is a parameter, passed through as sent.
Encoding, an untouched request is the client's very body, and an edited one re-encodes only what
changed, in the client's key order.
"""

from __future__ import annotations

from typing import Any

from luthien_proxy.dialects.openai_responses.items import (
    RESULT_ITEMS,
    decode_call,
    decode_content,
    encode_items,
    result_text,
)
from luthien_proxy.dialects.openai_responses.shapes import CALL_ITEMS, Json, item_type, json_list, json_object
from luthien_proxy.model import MalformedToolCall, Message, Opaque, Part, Request, Text, Tool, ToolResult

#: Where a tool keeps what `Tool.parameters` holds: a function's schema, a namespace's tools, a
#: custom tool's input format.
_PARAMETER_KEYS = {"namespace": "tools", "custom": "format"}


def decode_item(raw: Any, position: int) -> Message:
    """One `input` item as a message; an item that is not an object is kept whole."""
    fields = json_object(raw)
    if fields is None:
        return Message("", [Opaque(raw)], raw=raw)
    kind = item_type(fields)
    role = fields.get("role")
    if kind == "message":
        return Message(
            role if isinstance(role, str) else "", decode_content(fields.get("content"), "lenient"), fields
        )
    if kind in CALL_ITEMS:
        try:
            return Message("assistant", [decode_call(fields, position)], raw=fields)
        except MalformedToolCall:
            return Message("assistant", [Opaque(fields, field=kind)], raw=fields)  # history: kept whole
    if kind in RESULT_ITEMS:
        result = ToolResult(str(fields.get("call_id") or ""), result_text(fields.get("output")), raw=fields)
        return Message("tool", [result], raw=fields)
    default = "assistant" if kind == "reasoning" else ""
    return Message(role if isinstance(role, str) else default, [Opaque(fields, field=kind or "item")], fields)


def _tool(entry: Any) -> Tool:
    """A tool: its name (a namespace's, or the type of a server tool such as `web_search`), its
    description, and its schema (a namespace's member tools, so a rule reads them too)."""
    fields = json_object(entry)
    if fields is None:
        return Tool("", raw=entry)
    kind = str(fields.get("type") or "")
    name, description = fields.get("name"), fields.get("description")
    return Tool(
        name if isinstance(name, str) else kind,
        description if isinstance(description, str) else "",
        fields.get(_PARAMETER_KEYS.get(kind, "parameters")),
        raw=fields,
    )


def _input_messages(value: Any) -> list[Message]:
    if isinstance(value, str):
        return [Message("user", [Text(value, field="input")])]
    return [decode_item(item, n) for n, item in enumerate(json_list(value) or ())]


def _read_keys(body: Json) -> set[str]:
    """The fields read into the request's own attributes; one of a shape the API does not define
    stays a parameter, so nothing is lost."""
    keys = {"model"}
    if isinstance(body.get("input"), str | list):
        keys.add("input")
    if isinstance(body.get("instructions"), str):
        keys.add("instructions")
    if isinstance(body.get("tools"), list):
        keys.add("tools")
    return keys


def decode_request(body: Json) -> Request:
    """`body` as a `Request`; nothing in it is lost (`raw` keeps it whole)."""
    read = _read_keys(body)
    model = body.get("model")
    instructions = body.get("instructions") if "instructions" in read else None
    return Request(
        model=model if isinstance(model, str) else "",
        messages=_input_messages(body.get("input")) if "input" in read else [],
        system=[Text(instructions, field="instructions")] if isinstance(instructions, str) else [],
        tools=[_tool(t) for t in json_list(body.get("tools")) or ()] if "tools" in read else [],
        params={k: v for k, v in body.items() if k not in read},
        raw=body,
    )


def _new_message(role: str) -> Json:
    return {"type": "message", "role": role}


def encode_item(message: Message) -> list[Any]:
    """The `input` items for `message`: the client's own when unchanged, else re-encoded from its
    parts (a policy's message may hold text, calls and results: each goes in its own item)."""
    if message.raw is not None and decode_item(message.raw, 0) == message:
        return [message.raw]
    raw = json_object(message.raw)
    home = raw if raw is not None and item_type(raw) == "message" else None
    text_type = "output_text" if message.role == "assistant" else "input_text"
    originals: list[Any] = [message.raw] if message.raw is not None else []
    home_content = [p for p in message.parts if not isinstance(p, Opaque) or p.raw is not message.raw]
    if home is None and home_content and all(isinstance(p, Text | Opaque) for p in home_content):
        home = _new_message(message.role)
    items = encode_items(message.parts, originals, text_type, lambda _: _new_message(message.role), home)
    if home is not None and home.get("role") != message.role:  # the policy changed the role
        items = [_with_role(item, message.role) for item in items]
    return items


def _with_role(item: Any, role: str) -> Any:
    fields = json_object(item)
    return {**fields, "role": role} if fields is not None and item_type(fields) == "message" else item


def _encode_tool(tool: Tool) -> Any:
    if tool.raw is not None and _tool(tool.raw) == tool:
        return tool.raw
    raw = json_object(tool.raw)
    if raw is None:  # a tool a policy added: a function
        empty: Json = {"type": "object", "properties": {}}
        parameters: Any = tool.parameters if tool.parameters is not None else empty
        fields: Json = {"type": "function", "name": tool.name, "description": tool.description}
        return {**fields, "parameters": parameters, "strict": False}
    out: Json = dict(raw)
    if "name" in raw or tool.name != str(raw.get("type") or ""):
        out["name"] = tool.name
    if tool.description or "description" in raw:
        out["description"] = tool.description
    if tool.parameters is not None:
        out[_PARAMETER_KEYS.get(str(raw.get("type") or ""), "parameters")] = tool.parameters
    return out


def _encode_input(request: Request, original: Json) -> Any:
    value = original.get("input")
    if "input" in _read_keys(original) and _input_messages(value) == request.messages:
        return value
    only = request.messages[0] if len(request.messages) == 1 else None
    if (
        not isinstance(value, list)
        and only is not None
        and only.raw is None
        and only.role == "user"
        and all(isinstance(p, Text) and p.raw is None for p in only.parts)
    ):
        return "\n".join(p.text for p in only.parts if isinstance(p, Text))
    return [item for message in request.messages for item in encode_item(message)]


def _encode_instructions(parts: list[Part]) -> str:
    if not all(isinstance(part, Text) for part in parts):
        raise ValueError("a Responses request's instructions are text; the policy's system parts are not")
    return "\n".join(part.text for part in parts if isinstance(part, Text))


def encode_request(request: Request) -> Json:
    """The Responses body for `request`: its raw body with whatever the policy changed re-encoded."""
    original = json_object(request.raw) or {}
    if original and decode_request(original) == request:
        return original
    read = _read_keys(original)
    body: Json = dict(request.params)
    body["model"] = request.model
    if "input" in read or request.messages:
        body["input"] = _encode_input(request, original)
    if "instructions" in read and [Text(original["instructions"], field="instructions")] == request.system:
        body["instructions"] = original["instructions"]
    elif request.system:
        body["instructions"] = _encode_instructions(request.system)
    if "tools" in read and [_tool(t) for t in original["tools"]] == request.tools:
        body["tools"] = original["tools"]
    elif request.tools:
        body["tools"] = [_encode_tool(t) for t in request.tools]
    # The client's own key order, so a re-encoded body reads like the one it sent.
    return {**{k: body[k] for k in original if k in body}, **body}
