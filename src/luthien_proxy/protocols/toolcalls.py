"""What a control protocol decides about proposed tool calls, and how that replaces a complete response.

The calls themselves (`ToolCall`, read whole from every choice) live in `policies.tool_calls`; the
stream side of applying an `Outcome` is `StreamCallAssembler.closing_chunks`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.policies.tool_calls import ToolCall, message_calls, response_calls

__all__ = ["Outcome", "ToolCall", "apply_to_response", "message_calls", "response_calls"]


@dataclass(frozen=True)
class Outcome:
    """What replaces the proposed calls: the calls to release (maybe edited) and text to add."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    text: str | None = None


def apply_to_response(response: dict[str, Any], reviewed: list[ToolCall], outcome: Outcome) -> dict[str, Any]:
    """A copy of `response` whose choices that proposed `reviewed` calls carry `outcome` instead.

    Every call a choice proposed is replaced: released calls are re-encoded from what was judged,
    the others removed; the outcome's text goes to the first such choice.
    """
    affected = {call.choice for call in reviewed} | {call.choice for call in outcome.tool_calls}
    text_choice = min(affected, default=0)
    choices = []
    given: list[Any] = response.get("choices") or []
    for position, choice in enumerate(given):
        index = choice.get("index", position)
        if index not in affected:
            choices.append(choice)
            continue
        original: Any = choice.get("message") or {"role": "assistant"}
        message = {k: v for k, v in original.items() if k not in ("tool_calls", "function_call")}
        mine = [call for call in outcome.tool_calls if call.choice == index]
        entries = [call.openai() for call in mine if call.kind != "legacy"]
        legacy = next((call for call in mine if call.kind == "legacy"), None)
        if entries:
            message["tool_calls"] = entries
        if legacy is not None:
            message["function_call"] = legacy.legacy_openai()
        if outcome.text is not None and index == text_choice:
            message["content"] = _with_text(message.get("content"), outcome.text)
        reason = "tool_calls" if entries else "function_call" if legacy else "stop"
        choices.append({**choice, "message": message, "finish_reason": reason})
    return {**response, "choices": choices}


def _with_text(content: Any, text: str) -> Any:
    """`content` (a string or a list of parts) with `text` added at the end."""
    if isinstance(content, list):
        return [*content, {"type": "text", "text": text}]
    return f"{content}\n{text}" if isinstance(content, str) and content else text
