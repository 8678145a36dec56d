"""A complete (non-streamed) answer as policies see it: one or more choices of typed parts, each
with its stop reason, and the usage."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from luthien_proxy.model.parts import Part, Raw, Reasoning, Text, parts_text
from luthien_proxy.model.tool_call import ToolCall


@dataclass(frozen=True)
class Choice:
    """One candidate answer (most dialects have exactly one, `index` 0)."""

    index: int
    parts: list[Part]
    stop_reason: str | None = None
    raw: Raw = field(default=None, compare=False, repr=False)

    def tool_calls(self) -> list[ToolCall]:
        return [part for part in self.parts if isinstance(part, ToolCall)]

    def with_parts(self, parts: list[Part]) -> Choice:
        return replace(self, parts=parts)


@dataclass(frozen=True)
class Response:
    """The model's answer. Every tool call in it is complete and canonical (the pipeline reads them)."""

    choices: list[Choice]
    model: str = ""
    usage: dict[str, Any] | None = None
    raw: Raw = field(default=None, compare=False, repr=False)

    def tool_calls(self) -> list[ToolCall]:
        """Every call of every choice, in order."""
        return [call for choice in self.choices for call in choice.tool_calls()]

    def text(self) -> str:
        """The answer's text (text and reasoning of every choice), choices separated by a newline."""
        texts = (parts_text([p for p in c.parts if isinstance(p, Text | Reasoning)]) for c in self.choices)
        return "\n".join(text for text in texts if text)

    def map_text(self, transform: Callable[[str], str]) -> Response:
        """A copy with every text and reasoning part of every choice passed through `transform`."""
        return replace(
            self,
            choices=[choice.with_parts(map_parts_text(choice.parts, transform)) for choice in self.choices],
        )

    def map_parts(self, transform: Callable[[Part], Part | None]) -> Response:
        """A copy with every part of every choice passed through `transform` (None removes the part)."""
        choices = [
            choice.with_parts([new for part in choice.parts if (new := transform(part)) is not None])
            for choice in self.choices
        ]
        return replace(self, choices=choices)


def map_parts_text(parts: list[Part], transform: Callable[[str], str]) -> list[Part]:
    """`parts` with every text and reasoning part's text passed through `transform`."""
    return [
        part.with_text(transform(part.text)) if isinstance(part, Text | Reasoning) else part for part in parts
    ]
