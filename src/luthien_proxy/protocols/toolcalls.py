"""What a control protocol decides about proposed tool calls, and how that replaces a complete response.

The calls themselves are `luthien_proxy.model.ToolCall`s, complete and canonical; the stream side
of applying an `Outcome` is `guard.guard_stream`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from luthien_proxy.model import Part, Response, Text, ToolCall

__all__ = ["Outcome", "ToolCall", "apply_to_response"]


@dataclass(frozen=True)
class Outcome:
    """What replaces the proposed calls: the calls to release (maybe edited) and text to add."""

    tool_calls: list[ToolCall] = field(default_factory=list[ToolCall])
    text: str | None = None


def apply_to_response(response: Response, reviewed: list[ToolCall], outcome: Outcome) -> Response:
    """A copy of `response` whose choices that proposed `reviewed` calls carry `outcome` instead.

    Every call a choice proposed is replaced: released calls are the ones judged, the others
    removed; the outcome's text goes to the first such choice, after its own text.
    """
    affected = {call.choice for call in reviewed} | {call.choice for call in outcome.tool_calls}
    text_choice = min(affected, default=0)
    choices = []
    for choice in response.choices:
        if choice.index not in affected:
            choices.append(choice)
            continue
        parts: list[Part] = [part for part in choice.parts if not isinstance(part, ToolCall)]
        if outcome.text is not None and choice.index == text_choice:
            parts.append(Text(outcome.text))
        parts.extend(call for call in outcome.tool_calls if call.choice == choice.index)
        choices.append(choice.with_parts(parts))
    return replace(response, choices=choices)
