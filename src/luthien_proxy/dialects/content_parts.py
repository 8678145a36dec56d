"""A message's `content` as parts, the way every dialect but OpenAI chat writes it: a string is one
text part, a list one part per entry; anything else is refused (`strict`, the model's output) or
kept whole (`lenient`, the client's request)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from luthien_proxy.dialects.json_values import json_list
from luthien_proxy.model import MalformedToolCall, Opaque, Part, Text

Mode = Literal["lenient", "strict"]


def decode_content(
    content: Any, mode: Mode, decode_one: Callable[[Any, int, Mode], Part], text_field: str, entries: str
) -> list[Part]:
    """`content` as parts; `decode_one(entry, position, mode)` reads a list entry, `text_field`
    names a string content's part, `entries` what a list holds (for the error)."""
    if isinstance(content, str):
        return [Text(content, field=text_field)]
    if content is None:
        return []
    listed = json_list(content)
    if listed is None:
        if mode == "strict":
            raise MalformedToolCall(f"a message's content must be a list of {entries}")
        return [Opaque(content)]
    return [decode_one(entry, n, mode) for n, entry in enumerate(listed)]
