"""Reading Anthropic Messages JSON safely, and the text a message or a stream frame carries.

Wire JSON is whatever the sender made it; these helpers narrow it without trusting it. The text
readers give a door what to record and show: every text and thinking block, every text delta.
"""

from __future__ import annotations

from typing import Any

from luthien_proxy.dialects.json_values import Json, json_list, json_object


def block_text(block: Any) -> str:
    """The readable text of one content block: a text block's text, a thinking block's thinking."""
    fields = json_object(block)
    if fields is None:
        return ""
    for key in ("text", "thinking"):
        value = fields.get(key)
        if isinstance(value, str):
            return value
    return ""


def message_text(body: Json) -> str:
    """The text of a Messages response (or a request message): its text and thinking blocks, one per line."""
    content = body.get("content")
    if isinstance(content, str):
        return content
    return "\n".join(text for block in json_list(content) or () if (text := block_text(block)))


def frame_text(frame: Json) -> str:
    """The text a stream frame carries to the client (a text or thinking delta; "" for any other)."""
    if frame.get("type") != "content_block_delta":
        return ""
    delta = json_object(frame.get("delta")) or {}
    value = delta.get("text", delta.get("thinking"))
    return value if isinstance(value, str) else ""
