"""What differs between the native door's dialects on the client's side: how an error, a stream
frame and a stream's end are written (`DoorForm`), one value per dialect."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from luthien_proxy.dialects.anthropic_messages import ANTHROPIC_MESSAGES
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_chat import OPENAI_CHAT
from luthien_proxy.dialects.openai_responses import OPENAI_RESPONSES
from luthien_proxy.doors.native.upstream_wire import CHAT, MESSAGES, RESPONSES, anthropic_error_type
from luthien_proxy.wire import DIALECT_ANTHROPIC_MESSAGES, DIALECT_OPENAI_CHAT

Json = dict[str, Any]


class CallError(Exception):
    """What the client gets instead of an answer: an error in its dialect with `status_code`.

    `kind` is ours (`invalid_request_error`, `policy_rejection`, `upstream_error`, ...);
    `upstream_kind` the upstream's own error type, which an Anthropic client gets unchanged.
    """

    def __init__(self, status_code: int, message: str, kind: str, upstream_kind: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.kind = kind
        self.upstream_kind = upstream_kind
        # The pipeline records a rejection as the call's outcome; anything else `_failed` records.
        self.recorded = kind == "policy_rejection"


@dataclass(frozen=True)
class DoorForm:
    """One dialect's client-side wire form."""

    dialect: Dialect
    #: The routes it serves (a dialect name of the model config) and the upstream API it calls.
    routes: str
    api: str
    error_body: Callable[[CallError], Json]
    #: An encoded JSON frame as the SSE bytes the client reads.
    frame: Callable[[bytes], bytes]
    #: What ends a stream that went well (OpenAI's `[DONE]`; nothing after Anthropic's `message_stop`).
    done: bytes
    #: Sent when the stream was quiet for a while (a judge at work); None: nothing.
    keepalive: bytes | None = None
    #: How a stream that already started ends in error; None: the error body as one frame.
    stream_error: Callable[[CallError], bytes] | None = None

    def error_frame(self, error: CallError) -> bytes:
        if self.stream_error is not None:
            return self.stream_error(error)
        return self.frame(orjson.dumps(self.error_body(error)))


def _openai_error(error: CallError) -> Json:
    return {"error": {"message": error.message, "type": error.kind, "param": None, "code": error.status_code}}


def _openai_frame(encoded: bytes) -> bytes:
    return b"data: " + encoded + b"\n\n"


def _anthropic_error(error: CallError) -> Json:
    kind = error.upstream_kind or anthropic_error_type(error.status_code)
    return {"type": "error", "error": {"type": kind, "message": error.message}}


_TYPE_PREFIX = b'{"type":"'


def event_frame(encoded: bytes) -> bytes:
    """`event: <type>` then the data line; the type read from the JSON's first key when it is
    there (every frame Anthropic and our codec write), else parsed."""
    if encoded.startswith(_TYPE_PREFIX):
        end = encoded.find(b'"', len(_TYPE_PREFIX))
        kind = encoded[len(_TYPE_PREFIX) : end]
    else:
        value = orjson.loads(encoded)
        found = value.get("type") if isinstance(value, dict) else None
        kind = str(found or "message").encode()
    return b"event: " + kind + b"\ndata: " + encoded + b"\n\n"


# An SSE comment: every SSE reader skips it (the openai SDK too); a held call's stream stays alive.
OPENAI_CHAT_FORM = DoorForm(
    OPENAI_CHAT,
    DIALECT_OPENAI_CHAT,
    CHAT,
    _openai_error,
    _openai_frame,
    b"data: [DONE]\n\n",
    keepalive=b": keepalive\n\n",
)
ANTHROPIC_MESSAGES_FORM = DoorForm(
    ANTHROPIC_MESSAGES,
    DIALECT_ANTHROPIC_MESSAGES,
    MESSAGES,
    _anthropic_error,
    event_frame,
    b"",
    keepalive=event_frame(b'{"type":"ping"}'),
)


def _responses_stream_error(error: CallError) -> bytes:
    """An OpenAI error frame (a bare `data:` line the openai SDK raises as `APIError`), then
    `response.failed` (what Codex reads as the end of the response)."""
    detail = {"code": error.kind, "message": error.message}
    failed = {
        "type": "response.failed",
        "response": {"object": "response", "status": "failed", "error": detail},
    }
    return _openai_frame(orjson.dumps(_openai_error(error))) + event_frame(orjson.dumps(failed))


# Codex reads events by their JSON type; an SSE comment keeps a judged stream alive for any reader.
OPENAI_RESPONSES_FORM = DoorForm(
    OPENAI_RESPONSES,
    DIALECT_OPENAI_CHAT,
    RESPONSES,
    _openai_error,
    event_frame,
    b"",
    keepalive=b": keepalive\n\n",
    stream_error=_responses_stream_error,
)
