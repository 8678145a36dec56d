"""Pure builders for the demo upstream's OpenAI-shaped bodies, kept free of I/O so they are easy to test."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator, Mapping, Sequence
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


def prompt_tokens(messages: Sequence[Any]) -> int:
    """Approximate prompt token count over all messages."""
    return sum(count_tokens(message_text(m.get("content"))) for m in messages if isinstance(m, Mapping))


def echo_text(messages: Sequence[Any]) -> str:
    """The demo-echo reply for a conversation."""
    return f"You said: {last_user_text(messages)}"


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


def tool_call(call_id: str) -> dict[str, Any]:
    """The demo-tool call as a complete (non-stream) tool_calls entry."""
    return {"id": call_id, "type": "function", "function": {"name": TOOL_NAME, "arguments": TOOL_ARGUMENTS}}


def completion(
    model: str,
    *,
    content: str | None,
    prompt: int,
    tool_calls: list[dict[str, Any]] | None = None,
) -> bytes:
    """Serialize a full chat.completion body."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = tool_calls
    body = {
        "id": new_completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(
            prompt, count_tokens(content or "") + (count_tokens(TOOL_ARGUMENTS) if tool_calls else 0)
        ),
    }
    return orjson.dumps(body)


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


def text_frames(writer: ChunkWriter, pieces: Sequence[str]) -> Iterator[bytes]:
    """Frames for a streamed text reply: role, one frame per piece, then the stop frame."""
    yield writer.frame({"role": "assistant", "content": ""})
    for piece in pieces:
        yield writer.frame({"content": piece})
    yield writer.frame({}, "stop")


def tool_frames(writer: ChunkWriter, call_id: str, arg_pieces: int = 4) -> Iterator[bytes]:
    """Frames for a streamed tool call: id/name first, arguments split across several deltas."""
    yield writer.frame(
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "index": 0,
                    "id": call_id,
                    "type": "function",
                    "function": {"name": TOOL_NAME, "arguments": ""},
                }
            ],
        }
    )
    size = max(1, -(-len(TOOL_ARGUMENTS) // arg_pieces))
    for start in range(0, len(TOOL_ARGUMENTS), size):
        fragment = TOOL_ARGUMENTS[start : start + size]
        yield writer.frame({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
    yield writer.frame({}, "tool_calls")


def error_body(message: str, status: int, err_type: str = "server_error", code: str | None = None) -> bytes:
    """An OpenAI-style error body."""
    return orjson.dumps(
        {"error": {"message": message, "type": err_type, "param": None, "code": code or str(status)}}
    )
