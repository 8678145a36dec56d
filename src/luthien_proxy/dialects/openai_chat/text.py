"""Where an OpenAI chat message, delta or chunk carries model text, for reading it whole.

A response carries text in more places than `content`: list-shaped content parts, `refusal`, and
the reasoning fields (`reasoning_content`, `reasoning`). Every text helper covers all of them and
every choice, so a policy cannot be sidestepped by moving text to another field; the decoders
read their parts from the same fields.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

#: The message / delta fields that hold model text.
TEXT_FIELDS = ("content", "refusal", "reasoning_content", "reasoning")


def _texts(value: Any) -> Iterator[str]:
    """The strings of one text field: a string, or a list of parts with `text`."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for part in cast("list[Any]", value):
            if isinstance(part, str):
                yield part
            elif isinstance(part, dict) and isinstance(text := cast("dict[str, Any]", part).get("text"), str):
                yield text


def part_text(part: Any) -> str:
    """All the model text of one message or delta, every text field joined."""
    if not isinstance(part, dict):
        return ""
    fields = cast("dict[str, Any]", part)
    return "".join(text for name in TEXT_FIELDS for text in _texts(fields.get(name)))


def _choices(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The choices of `body` that are objects (the decoders refuse the others)."""
    choices = body.get("choices")
    if not isinstance(choices, list):
        return []
    return [cast("dict[str, Any]", c) for c in cast("list[Any]", choices) if isinstance(c, dict)]


def chunk_text(chunk: dict[str, Any]) -> str:
    """The text a stream chunk carries, over every choice and text field (empty when none)."""
    return "".join(part_text(choice.get("delta")) for choice in _choices(chunk))


def response_text(response: dict[str, Any]) -> str:
    """The text of a chat completion: every choice's every text field."""
    return "\n".join(text for choice in _choices(response) if (text := part_text(choice.get("message"))))
