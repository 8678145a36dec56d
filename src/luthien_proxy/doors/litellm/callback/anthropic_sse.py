"""Anthropic Messages SSE as LiteLLM streams it, to event objects and back.

LiteLLM's `/v1/messages` stream hands the callback raw transport reads of the upstream's SSE (bytes
split or coalesced anywhere: `anthropic/` models) or one frame per item (its OpenAI adapter); a
synthetic stream may hand it event dicts. `SSEDecoder` turns any of them into whole event objects
(`{"type": "message_start", ...}`), the stream protocol's CHUNK data; `encode_event` writes an event
back as the frame Anthropic clients need: `event: <type>` then the data line (LiteLLM would write a
dict as a bare `data:` line, which the Anthropic SDKs skip). A frame that is not a JSON object with
a `type` is an upstream that broke the format: `MalformedStream`, so the stream fails closed.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson

#: An unfinished frame held longer than this is refused (the control plane's message limit).
MAX_FRAME_BYTES = 16 * 1024 * 1024
_FRAME_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_LINE = re.compile(rb"\r\n|\n|\r")


class MalformedStream(ValueError):
    """The upstream's stream is not Anthropic SSE; nothing more of it may reach the client."""


def _event(data: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise MalformedStream(f"an SSE data line is not JSON: {data[:80]!r}") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise MalformedStream(f"an SSE event must be a JSON object with a type: {data[:80]!r}")
    return value


def _frame(raw: bytes) -> dict[str, Any] | None:
    """The event of one frame's lines; None for a frame without data (comments, a bare `event:`)."""
    data = [line[5:].removeprefix(b" ") for line in _LINE.split(raw) if line.startswith(b"data:")]
    if not data or data == [b"[DONE]"]:
        return None
    return _event(b"\n".join(data))


class SSEDecoder:
    """One stream's decoder: `feed` every item LiteLLM yields, then `finish` at its end."""

    def __init__(self) -> None:
        self._held = b""

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        """The events `chunk` completes, in order (none while a frame is still arriving)."""
        if isinstance(chunk, Mapping):
            if self._held.strip():
                raise MalformedStream("an event object arrived inside an unfinished SSE frame")
            return [_event(orjson.dumps(dict(chunk)))]
        if isinstance(chunk, str):
            chunk = chunk.encode()
        if not isinstance(chunk, bytes | bytearray | memoryview):
            raise MalformedStream(f"a stream item must be SSE bytes or an event, got {type(chunk).__name__}")
        buffer = self._held + bytes(chunk)
        events: list[dict[str, Any]] = []
        start = 0
        for end in _FRAME_END.finditer(buffer):
            event = _frame(buffer[start : end.start()])
            if event is not None:
                events.append(event)
            start = end.end()
        self._held = buffer[start:]
        if len(self._held) > MAX_FRAME_BYTES:
            raise MalformedStream(f"an SSE frame exceeds {MAX_FRAME_BYTES} bytes")
        return events

    def finish(self) -> list[dict[str, Any]]:
        """The last frame, when the stream ended without the blank line that closes it."""
        held, self._held = self._held, b""
        event = _frame(held) if held.strip() else None
        return [] if event is None else [event]


async def sse_events(upstream: AsyncIterator[Any]) -> AsyncIterator[dict[str, Any]]:
    """The event objects of a LiteLLM `/v1/messages` stream."""
    decoder = SSEDecoder()
    async for chunk in upstream:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.finish():
        yield event


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The SSE frame of one event, as Anthropic writes it: `event: <type>\\ndata: <json>\\n\\n`."""
    kind = event.get("type")
    name = kind.encode() if isinstance(kind, str) and kind.isidentifier() else b"message"
    return b"event: " + name + b"\ndata: " + orjson.dumps(event) + b"\n\n"
