"""Pure helpers for the demo upstream's OpenAI-shaped bodies, kept free of I/O so they are easy to test."""

from __future__ import annotations

import itertools
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

TOOL_NAME = "run_shell"
TOOL_ARGUMENTS = '{"command": "ls -la"}'
_ids = itertools.count(1)


def new_completion_id() -> str:
    """Return a process-unique completion id (deterministic order, no randomness)."""
    return f"chatcmpl-demo-{next(_ids)}"


def message_text(content: Any) -> str:
    """Flatten an OpenAI message `content` (string or list of parts) to plain text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = [p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"]
        return " ".join(parts)
    return ""


def last_user_text(messages: Sequence[Any]) -> str:
    """Return the text of the last user message, or '' when there is none."""
    for message in reversed(messages):
        if isinstance(message, Mapping) and message.get("role") == "user":
            return message_text(message.get("content"))
    return ""


def count_tokens(text: str) -> int:
    """Approximate token count as whitespace-separated words: cheap and deterministic."""
    return len(text.split())


#: Keys whose strings are identifiers or payloads, not prompt text, so `payload_tokens` skips them
#: (Anthropic's block ids and signatures, Responses' call ids, statuses and encrypted reasoning).
_NOT_TEXT = frozenset(
    {"type", "role", "id", "tool_use_id", "signature", "media_type", "data", "cache_control"}
    | {"call_id", "status", "encrypted_content"}
)


def _words(value: Any) -> int:
    if isinstance(value, str):
        return count_tokens(value)
    if isinstance(value, Mapping):
        return sum(_words(v) for k, v in value.items() if k not in _NOT_TEXT)
    if isinstance(value, list):
        return sum(_words(v) for v in value)
    return 0


def payload_tokens(payload: Mapping[str, Any], keys: Sequence[str]) -> int:
    """A deterministic input-token estimate (at least 1): words of the text under `payload[key]`s."""
    return max(1, sum(_words(payload.get(key)) for key in keys))


def prompt_tokens(messages: Sequence[Any]) -> int:
    """Approximate prompt token count over all messages."""
    return sum(count_tokens(message_text(m.get("content"))) for m in messages if isinstance(m, Mapping))


def long_pieces(chunks: int) -> list[str]:
    """The demo-long reply as `chunks` pieces."""
    return [f"chunk {i} " for i in range(chunks)]


def words(text: str) -> list[str]:
    """Split text into word pieces that concatenate back to exactly `text`."""
    pieces = text.split(" ")
    return [p + " " for p in pieces[:-1]] + [pieces[-1]] if pieces else [text]


def usage(prompt: int, completion: int) -> dict[str, int]:
    """An OpenAI usage object."""
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


class ChunkWriter:
    """Serializes chat.completion.chunk SSE frames sharing one id/created/model."""

    def __init__(self, model: str) -> None:
        self._prefix = {
            "id": new_completion_id(),
            "object": "chat.completion.chunk",
            "created": int(time.time()),
        }
        self._model = model

    def frame(self, delta: Mapping[str, Any], finish_reason: str | None = None) -> bytes:
        """One `data: {...}\\n\\n` frame with a single choice."""
        body = {
            **self._prefix,
            "model": self._model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"

    def usage_frame(self, prompt: int, completion_tokens: int) -> bytes:
        """The trailing usage frame sent when stream_options.include_usage is set."""
        body = {
            **self._prefix,
            "model": self._model,
            "choices": [],
            "usage": usage(prompt, completion_tokens),
        }
        return b"data: " + orjson.dumps(body) + b"\n\n"


DONE_FRAME = b"data: [DONE]\n\n"


def error_body(message: str, status: int, err_type: str = "server_error", code: str | None = None) -> bytes:
    """An OpenAI-style error body."""
    return orjson.dumps(
        {"error": {"message": message, "type": err_type, "param": None, "code": code or str(status)}}
    )
