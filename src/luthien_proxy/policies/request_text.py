"""Every text a client's request carries to the model, for policies that refuse on what is asked.

Not only message `content`: list-shaped content parts, assistant tool-call arguments and legacy
`function_call`s in the history, tool results, the tools offered (names, descriptions and
parameter schemas), `system` and `instructions`, and the `prompt` / `input` of other dialects.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from luthien_proxy.policies.chunks import part_text


def _call_texts(message: dict[str, Any]) -> Iterator[str]:
    for call in message.get("tool_calls") or ():
        if isinstance(call, dict):
            for body in (call.get("function"), call.get("custom")):
                if isinstance(body, dict):
                    yield from (str(v) for v in body.values() if isinstance(v, str))
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        yield from (str(v) for v in legacy.values() if isinstance(v, str))


def _tool_texts(tool: Any) -> Iterator[str]:
    if not isinstance(tool, dict):
        return
    function = tool.get("function")
    body: dict[str, Any] = function if isinstance(function, dict) else tool
    for key in ("name", "description"):
        if isinstance(body.get(key), str):
            yield body[key]
    schema = body.get("parameters")
    if schema is not None:
        yield json.dumps(schema, ensure_ascii=False)


def _loose_texts(value: Any) -> Iterator[str]:
    """A `prompt`, `input`, `system` or `instructions` value: a string, parts, or message items."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, str):
                yield item
            elif isinstance(item, dict):
                if isinstance(item.get("text"), str):
                    yield item["text"]
                yield from _loose_texts(item.get("content"))
                if isinstance(item.get("arguments"), str):
                    yield item["arguments"]
                if isinstance(item.get("output"), str):
                    yield item["output"]


def request_text(data: dict[str, Any]) -> str:
    """All text in `data`, one piece per line."""
    parts: list[str] = []
    for message in data.get("messages") or ():
        if isinstance(message, dict):
            parts.append(part_text(message))
            parts.extend(_call_texts(message))
    for tool in [*(data.get("tools") or ()), *(data.get("functions") or ())]:
        parts.extend(_tool_texts(tool))
    for key in ("system", "instructions", "prompt", "input"):
        parts.extend(_loose_texts(data.get(key)))
    return "\n".join(part for part in parts if part)
