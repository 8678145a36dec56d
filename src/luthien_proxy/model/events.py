"""What a streamed answer is made of, as policies see it.

Text and reasoning arrive as deltas the moment the model sends them; a tool call arrives once,
*complete* — the pipeline holds its fragments until the model has finished it —, followed by a
`Stop` per choice. `Passthrough` carries what no policy reads (role announcements, usage, keep-alives)
and reaches the client unchanged. A decoded event keeps the provider event it came from in `raw`,
so an unchanged stream is written back byte for byte.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from luthien_proxy.model.parts import Raw
from luthien_proxy.model.tool_call import ToolCall


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer's text (`field`: where it sat, e.g. `content` or `refusal`)."""

    text: str
    choice: int = 0
    field: str = "content"
    raw: Raw = dataclasses.field(default=None, compare=False, repr=False)
    #: The text as decoded, so the dialect can tell an untouched event from an edited one.
    original: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def with_text(self, text: str) -> TextDelta:
        # Not `dataclasses.replace`: this runs once per chunk a text policy edits.
        return TextDelta(text, self.choice, self.field, self.raw, self.original)


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning text."""

    text: str
    choice: int = 0
    field: str = "reasoning_content"
    raw: Raw = dataclasses.field(default=None, compare=False, repr=False)
    original: str | None = dataclasses.field(default=None, compare=False, repr=False)

    def with_text(self, text: str) -> ReasoningDelta:
        return ReasoningDelta(text, self.choice, self.field, self.raw, self.original)


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """One complete, canonical tool call the model proposes (or a policy releases)."""

    call: ToolCall


@dataclass(frozen=True, slots=True)
class Stop:
    """A choice has ended; `reason` is the model's (the dialect corrects it to what was released)."""

    choice: int = 0
    reason: str | None = None
    raw: Raw = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Passthrough:
    """A provider event no policy reads (role, usage, keep-alive): written back as it came."""

    raw: Raw


StreamEvent = TextDelta | ReasoningDelta | ToolCallEvent | Stop | Passthrough
