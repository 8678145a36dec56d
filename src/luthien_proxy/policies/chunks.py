"""Helpers for reading and rewriting OpenAI-shaped responses and stream chunks."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any


def chunk_text(chunk: dict[str, Any]) -> str:
    """The text content a stream chunk carries (empty when it carries none)."""
    parts = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        content = delta.get("content")
        if isinstance(content, str):
            parts.append(content)
    return "".join(parts)


def map_chunk_text(chunk: dict[str, Any], transform: Callable[[str], str]) -> dict[str, Any]:
    """A copy of `chunk` with every delta's text content passed through `transform`."""
    result = dict(chunk)
    choices = []
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("content"), str):
            choice = {**choice, "delta": {**delta, "content": transform(delta["content"])}}
        choices.append(choice)
    result["choices"] = choices
    return result


def map_response_text(response: dict[str, Any], transform: Callable[[str], str]) -> dict[str, Any]:
    """A copy of a chat completion with every message's text content passed through `transform`."""
    result = copy.deepcopy(response)
    for choice in result.get("choices") or ():
        message = choice.get("message")
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            message["content"] = transform(message["content"])
    return result


def response_text(response: dict[str, Any]) -> str:
    """The text of the first choice of a chat completion."""
    for choice in response.get("choices") or ():
        message = choice.get("message") or {}
        if isinstance(message.get("content"), str):
            return message["content"]
    return ""


def text_chunk_like(template: dict[str, Any], text: str) -> dict[str, Any]:
    """A new content chunk shaped like `template` (same id, model, created) carrying `text`."""
    return {
        **{k: v for k, v in template.items() if k != "choices"},
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
