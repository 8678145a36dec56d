"""A request as policies see it: model, system text, messages of typed parts, tools offered, and
the sampling parameters, whatever dialect the client spoke."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from luthien_proxy.model.parts import Part, Raw, Text, parts_text


@dataclass(frozen=True)
class Message:
    """One turn of the conversation. `role` is the client's own (unknown roles pass through)."""

    role: str
    parts: list[Part]
    raw: Raw = field(default=None, compare=False, repr=False)

    def text(self) -> str:
        """The message's readable text (text, reasoning, calls, results), one piece per line."""
        return parts_text(self.parts)

    def with_parts(self, parts: list[Part]) -> Message:
        return replace(self, parts=parts)


@dataclass(frozen=True)
class Tool:
    """A tool the client offers the model: its name, description and parameter schema."""

    name: str
    description: str = ""
    parameters: Any = None
    raw: Raw = field(default=None, compare=False, repr=False)

    def text(self) -> str:
        schema = json.dumps(self.parameters, ensure_ascii=False) if self.parameters is not None else ""
        return "\n".join(piece for piece in (self.name, self.description, schema) if piece)


@dataclass(frozen=True)
class Request:
    """What the client asks the model. `params` holds the sampling parameters and every other field
    (`temperature`, `stream`, provider extras), as sent; `raw` is the client's whole body.

    A policy returns `dataclasses.replace(request, ...)` (or `with_messages`) to change it; the door
    re-encodes only what changed, in the client's dialect.
    """

    model: str
    messages: list[Message]
    system: list[Part] = field(default_factory=list[Part])
    tools: list[Tool] = field(default_factory=list[Tool])
    params: dict[str, Any] = field(default_factory=dict[str, Any])
    raw: Raw = field(default=None, compare=False, repr=False)

    def text(self) -> str:
        """Every text the request carries to the model — system, every message's parts (history
        tool calls and results included), the tools offered — one piece per line."""
        pieces = [
            parts_text(self.system),
            *(m.text() for m in self.messages),
            *(t.text() for t in self.tools),
        ]
        return "\n".join(piece for piece in pieces if piece)

    def with_messages(self, messages: list[Message]) -> Request:
        return replace(self, messages=messages)

    def last_user_text(self) -> str:
        """The text of the last user message ("" when there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return parts_text([p for p in message.parts if isinstance(p, Text)])
        return ""
