"""OpenAI Responses API streams as LiteLLM hands them to the callback, to event objects and back.

LiteLLM's `/v1/responses` stream hands the iterator hook typed event objects (`ResponseCreatedEvent`,
`OutputTextDeltaEvent`, ...: pydantic models, for an upstream's own `/responses` and for LiteLLM's
chat-completions bridge alike); SSE bytes and event dicts are read too. `EventDecoder` turns them
into the JSON objects a client would read (`{"type": "response.created", ...}`), the stream
protocol's CHUNK data. `policed_event` carries an event the policy sends back as one of LiteLLM's
own response objects, so LiteLLM writes it as it writes its own: a `data:` line without top-level
nulls, the response id encrypted by its `ResponsesIDSecurity` hook, the sequence numbers and the
stream's end tracked for the `response.failed` it writes when a stream fails (a dict would be
written as its Python repr). `written_events` writes a policed stream that way and, when it fails
before it ended, first an OpenAI error frame (`error_frame`, which the openai SDK raises; as the
stream's first item LiteLLM answers it as that JSON error with its status), then raises, so that
LiteLLM ends a started stream with the `response.failed` Codex reads.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import orjson
from litellm._logging import redact_internal_details_from_client_message
from litellm.types.llms.base import BaseLiteLLMOpenAIResponseObject
from pydantic import BaseModel

from luthien_proxy.doors.litellm.callback.anthropic_sse import MalformedStream, SSEDecoder

#: The events that end a response: after one, the client has the whole answer.
TERMINAL = frozenset(("response.completed", "response.incomplete", "response.failed"))


class PolicedEvent(BaseLiteLLMOpenAIResponseObject):
    """A Responses stream event the policy sent, every key as it sent it (the base allows extras)."""


def policed_event(event: Mapping[str, Any]) -> PolicedEvent:
    """The object LiteLLM writes for `event` as it writes the upstream's own events."""
    return PolicedEvent(**event)


def _checked(event: Any) -> dict[str, Any]:
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        raise MalformedStream(f"a Responses stream event must be an object with a type: {str(event)[:80]}")
    return event


class EventDecoder:
    """One stream's decoder: `feed` every item LiteLLM yields, then `finish` at its end."""

    def __init__(self) -> None:
        self._sse = SSEDecoder()

    def feed(self, chunk: Any) -> list[dict[str, Any]]:
        """The events `chunk` holds (none while an SSE frame is still arriving)."""
        if isinstance(chunk, BaseModel):
            # What LiteLLM would write for it: its serializer drops nulls and unset fields.
            return [_checked(chunk.model_dump(mode="json", exclude_none=True, exclude_unset=True))]
        if isinstance(chunk, Mapping | bytes | bytearray | memoryview | str):
            return [_checked(event) for event in self._sse.feed(chunk)]
        raise MalformedStream(f"a Responses stream item must be an event, got {type(chunk).__name__}")

    def finish(self) -> list[dict[str, Any]]:
        """The last SSE frame, when the stream ended without the blank line that closes it."""
        return self._sse.finish()


async def response_events(upstream: AsyncIterator[Any]) -> AsyncIterator[dict[str, Any]]:
    """The event objects of a LiteLLM `/v1/responses` stream."""
    decoder = EventDecoder()
    async for chunk in upstream:
        for event in decoder.feed(chunk):
            yield event
    for event in decoder.finish():
        yield event


def error_frame(status_code: int, message: str, kind: str) -> bytes:
    """An OpenAI error as an SSE data line: the openai SDK raises it as `APIError`; as a stream's
    first item LiteLLM answers it as that JSON error with `status_code` (its code)."""
    error = {
        "message": redact_internal_details_from_client_message(message),
        "type": kind,
        "param": None,
        "code": str(status_code),
    }
    return b"data: " + orjson.dumps({"error": error}) + b"\n\n"


def failure_frame(exc: Exception) -> bytes:
    """The error frame for a stream that failed with `exc` (ours carry a status, a message and a
    type; an upstream's or a malformed stream's is a 502 unless it has a status)."""
    status, message, kind = (getattr(exc, name, None) for name in ("status_code", "message", "type"))
    return error_frame(
        status if isinstance(status, int) and 400 <= status <= 599 else 502,
        message if isinstance(message, str) and message else str(exc) or type(exc).__name__,
        kind if isinstance(kind, str) and kind else "upstream_error",
    )


async def written_events(
    events: AsyncIterator[dict[str, Any] | bytes],
) -> AsyncIterator[PolicedEvent | bytes]:
    """`events` as LiteLLM's objects (bytes, a keepalive comment, as they are); a failure before a
    terminal event is an error frame, then raised."""
    ended = False
    try:
        async for event in events:
            if isinstance(event, bytes):
                yield event
                continue
            ended = event.get("type") in TERMINAL
            yield policed_event(event)
    except Exception as exc:
        if not ended:
            yield failure_frame(exc)
        raise
