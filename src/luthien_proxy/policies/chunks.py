"""Helpers for reading and rewriting the text of OpenAI-shaped responses and stream chunks.

A response carries text in more places than `content`: list-shaped content parts, `refusal`, and
the reasoning fields (`reasoning_content`, `reasoning`). Every text helper covers all of them and
every choice, so a text policy cannot be sidestepped by moving text to another field.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

#: The message / delta fields that hold model text.
TEXT_FIELDS = ("content", "refusal", "reasoning_content", "reasoning")

Transform = Callable[[str], str]


def _texts(value: Any) -> Iterator[str]:
    """The strings of one text field: a string, or a list of parts with `text`."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for part in value:
            if isinstance(part, str):
                yield part
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                yield part["text"]


def _mapped(value: Any, transform: Transform) -> Any:
    if isinstance(value, str):
        return transform(value)
    if isinstance(value, list):
        return [
            transform(part)
            if isinstance(part, str)
            else {**part, "text": transform(part["text"])}
            if isinstance(part, dict) and isinstance(part.get("text"), str)
            else part
            for part in value
        ]
    return value


def part_text(part: Any) -> str:
    """All the model text of one message or delta, every text field joined."""
    if not isinstance(part, dict):
        return ""
    return "".join(text for name in TEXT_FIELDS for text in _texts(part.get(name)))


def map_part_text(part: dict[str, Any], transform: Transform) -> dict[str, Any]:
    """A copy of a message or delta with every text field passed through `transform`."""
    return {key: _mapped(value, transform) if key in TEXT_FIELDS else value for key, value in part.items()}


def _choices(body: dict[str, Any]) -> list[Any]:
    choices = body.get("choices")
    return choices if isinstance(choices, list) else []


def chunk_text(chunk: dict[str, Any]) -> str:
    """The text a stream chunk carries, over every choice and text field (empty when none)."""
    return "".join(part_text(choice.get("delta")) for choice in _choices(chunk) if isinstance(choice, dict))


def _map_choices(body: dict[str, Any], field: str, transform: Transform) -> dict[str, Any]:
    """A copy of `body` with the text of every choice's `field` (`delta` or `message`) passed through
    `transform`; a choice or field that is not an object is kept as it is."""
    choices = [
        {**choice, field: map_part_text(choice[field], transform)}
        if isinstance(choice, dict) and isinstance(choice.get(field), dict)
        else choice
        for choice in _choices(body)
    ]
    return {**body, "choices": choices}


def map_chunk_text(chunk: dict[str, Any], transform: Transform) -> dict[str, Any]:
    """A copy of `chunk` with every delta's text passed through `transform`."""
    return _map_choices(chunk, "delta", transform)


def map_response_text(response: dict[str, Any], transform: Transform) -> dict[str, Any]:
    """A copy of a chat completion with every message's text passed through `transform`."""
    return _map_choices(response, "message", transform)


def response_text(response: dict[str, Any]) -> str:
    """The text of a chat completion: every choice's every text field."""
    return "\n".join(
        text
        for choice in _choices(response)
        if isinstance(choice, dict) and (text := part_text(choice.get("message")))
    )


def text_chunk_like(template: dict[str, Any], text: str) -> dict[str, Any]:
    """A new content chunk shaped like `template` (same id, model, created) carrying `text`."""
    return {
        **{k: v for k, v in template.items() if k != "choices"},
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
