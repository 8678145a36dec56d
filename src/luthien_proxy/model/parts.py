"""The parts of a message, the same in every dialect: text, reasoning, tool calls, tool results, and
anything else (images, audio, provider blocks) kept whole.

Each part decoded from the wire keeps the provider JSON it came from in `raw` (`None` for a part a
policy made), and where in the message it sat in `field`, so a dialect writes an unchanged part
back byte for byte and an edited one in the client's own form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, replace
from typing import Any

from luthien_proxy.model.tool_call import ToolCall

Raw = Any


@dataclass(frozen=True)
class Text:
    """Text the model or the user wrote (`field` is where it sat, e.g. `content` or `refusal`)."""

    text: str
    field: str = "content"
    raw: Raw = dataclasses.field(default=None, compare=False, repr=False)

    def with_text(self, text: str) -> Text:
        return replace(self, text=text)


@dataclass(frozen=True)
class Reasoning:
    """The model's reasoning (thinking) text."""

    text: str
    field: str = "reasoning_content"
    raw: Raw = dataclasses.field(default=None, compare=False, repr=False)

    def with_text(self, text: str) -> Reasoning:
        return replace(self, text=text)


@dataclass(frozen=True)
class ToolResult:
    """What a tool returned to the model for the call `call_id`."""

    call_id: str
    content: str
    is_error: bool = False
    raw: Raw = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Opaque:
    """A part no policy reads as text (an image, audio, a provider block): passed through whole."""

    raw: Raw
    field: str = "content"


Part = Text | Reasoning | ToolCall | ToolResult | Opaque


def parts_text(parts: list[Part]) -> str:
    """All the readable text of `parts` (text, reasoning, tool calls' names and arguments, tool
    results), one piece per line: what a rule searches."""
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, Text | Reasoning):
            pieces.append(part.text)
        elif isinstance(part, ToolCall):
            pieces.extend((part.name, part.arguments))
        elif isinstance(part, ToolResult):
            pieces.append(part.content)
    return "\n".join(piece for piece in pieces if piece)
