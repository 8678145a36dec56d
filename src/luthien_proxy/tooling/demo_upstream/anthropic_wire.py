"""Anthropic Messages encoder of the neutral scripted answers: Message JSON, its SSE events, errors.

Pure (no I/O). A call's `input` is written as its argument text verbatim (`orjson.Fragment`), so
the escapes and spacing of a hostile script reach the client exactly as the stream would send them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import orjson

from luthien_proxy.tooling.demo_upstream.answers import Answer, Call
from luthien_proxy.tooling.demo_upstream.wire_http import event_frame as frame

_ids = itertools.count(1)
_request_ids = itertools.count(1)

#: HTTP status -> Anthropic error type (https://docs.anthropic.com/en/api/errors).
ERROR_TYPES: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def new_message_id() -> str:
    """A process-unique message id (deterministic order, no randomness)."""
    return f"msg_demo_{next(_ids):06d}"


def request_id() -> str:
    """A process-unique `request-id` header value, as Anthropic sends one with every answer."""
    return f"req_demo_{next(_request_ids):06d}"


def error_type(status: int) -> str:
    """The Anthropic error type of an HTTP status (`api_error` when it has no own type)."""
    return ERROR_TYPES.get(status, "invalid_request_error" if 400 <= status < 500 else "api_error")


def error_body(status: int, message: str) -> bytes:
    """An Anthropic error body: `{"type": "error", "error": {"type": ..., "message": ...}}`."""
    return orjson.dumps({"type": "error", "error": {"type": error_type(status), "message": message}})


def _stop_reason(answer: Answer) -> str:
    return "tool_use" if answer.calls else "end_turn"


def _tool_use(call: Call, input_value: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": f"toolu_{call.id}", "name": call.name, "input": input_value}


def _blocks(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "text", "text": answer.text}] if answer.pieces else []
    blocks += [_tool_use(c, orjson.Fragment(c.arguments.encode())) for c in answer.calls]
    return blocks or [{"type": "text", "text": ""}]


def message_body(model: str, answer: Answer, input_tokens: int) -> bytes:
    """A non-streamed Message: text block, then one tool_use block per call."""
    return orjson.dumps(
        {
            "id": new_message_id(),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": _blocks(answer),
            "stop_reason": _stop_reason(answer),
            "stop_sequence": None,
            "usage": {"input_tokens": input_tokens, "output_tokens": answer.output_tokens()},
        }
    )


def _block_events(index: int, start: dict[str, Any], deltas: list[dict[str, Any]]) -> Iterator[bytes]:
    yield frame({"type": "content_block_start", "index": index, "content_block": start})
    for delta in deltas:
        yield frame({"type": "content_block_delta", "index": index, "delta": delta})
    yield frame({"type": "content_block_stop", "index": index})


def stream_frames(model: str, answer: Answer, input_tokens: int) -> Iterator[bytes]:
    """The SSE events of a streamed Message, in Anthropic's order, with a `ping` after the first start.

    Text streams one `text_delta` per piece; a call's input comes in several `input_json_delta`s.
    """
    message = {
        "id": new_message_id(),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": 1},
    }
    yield frame({"type": "message_start", "message": message})
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if answer.pieces or not answer.calls:
        texts = [{"type": "text_delta", "text": p} for p in answer.pieces]
        blocks.append(({"type": "text", "text": ""}, texts))
    for call in answer.calls:
        parts = [{"type": "input_json_delta", "partial_json": f} for f in call.fragments()]
        blocks.append((_tool_use(call, {}), parts))
    for index, (start, deltas) in enumerate(blocks):
        events = _block_events(index, start, deltas)
        yield next(events)
        if index == 0:
            yield frame({"type": "ping"})
        yield from events
    delta = {"stop_reason": _stop_reason(answer), "stop_sequence": None}
    yield frame({"type": "message_delta", "delta": delta, "usage": {"output_tokens": answer.output_tokens()}})
    yield frame({"type": "message_stop"})
