"""What the wire encoders share: a JSON body, an SSE stream paced frame by frame, a typed SSE event."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

JSON = "application/json"


def event_frame(event: Mapping[str, Any]) -> bytes:
    """One typed SSE frame, `event: <type>\\ndata: <json>\\n\\n` (Anthropic Messages, OpenAI Responses)."""
    return b"event: " + str(event["type"]).encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def json_response(body: bytes, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response of pre-serialized `body`."""
    return Response(body, status_code=status, media_type=JSON, headers=dict(headers or {}))


async def _paced(frames: Iterable[bytes], delay_s: float, tail: bytes) -> AsyncIterator[bytes]:
    """Yield frames with an optional delay before each one, then `tail` (OpenAI's `[DONE]`) at once."""
    for frame in frames:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        yield frame
    if tail:
        yield tail


def stream_response(
    frames: Iterable[bytes],
    delay_s: float = 0.0,
    *,
    tail: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> StreamingResponse:
    """A `text/event-stream` response of `frames`."""
    return StreamingResponse(
        _paced(frames, delay_s, tail),
        media_type="text/event-stream",
        headers={"cache-control": "no-cache", **(headers or {})},
    )
