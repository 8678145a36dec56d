"""The demo upstream's Anthropic Messages endpoints: `/v1/messages` (JSON and SSE) and `count_tokens`.

Any query string (`?beta=true`) is accepted; `x-api-key` / `Authorization` are neither checked nor
echoed; `anthropic-version` and `anthropic-beta` are ignored. Requests are read leniently: `system`
as a string or blocks, content as a string or blocks of any type, and roles other than user and
assistant (Claude Code appends a `system`-role entry after the user turn) never fail a request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from luthien_proxy.tooling.demo_upstream import anthropic_wire as aw
from luthien_proxy.tooling.demo_upstream import hostile_shapes
from luthien_proxy.tooling.demo_upstream.answers import (
    MODELS,
    DemoDefaults,
    Failure,
    Turn,
    hostile_answer,
    offered_tools,
    script,
)
from luthien_proxy.tooling.demo_upstream.protocol_models import PROTOCOL_MODELS
from luthien_proxy.tooling.demo_upstream.responses import payload_tokens
from luthien_proxy.tooling.demo_upstream.wire_http import json_response, stream_response


def _headers() -> dict[str, str]:
    return {"request-id": aw.request_id()}


def error(status: int, message: str) -> Response:
    """An Anthropic-shaped error response."""
    return json_response(aw.error_body(status, message), status, _headers())


def _block_text(content: Any) -> str:
    """Text of a tool_result's content: a string, or the text blocks of a list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            b["text"] for b in content if isinstance(b, Mapping) and isinstance(b.get("text"), str)
        )
    return ""


def anthropic_turn(messages: Sequence[Any], tools: Any = None) -> Turn:
    """The scripts' view of Messages `messages` and `tools`: the last user-role entry, other roles skipped."""
    offered = offered_tools(tools)
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return Turn(content, (content,), None, len(messages), offered)
        blocks = [b for b in content if isinstance(b, Mapping)] if isinstance(content, list) else []
        parts = tuple(b["text"] for b in blocks if b.get("type") == "text" and isinstance(b.get("text"), str))
        results = [_block_text(b.get("content")) for b in blocks if b.get("type") == "tool_result"]
        return Turn(" ".join(parts), parts, results[-1] if results else None, len(messages), offered)
    return Turn("", (), None, len(messages), offered)


def estimate_tokens(payload: Mapping[str, Any]) -> int:
    """A deterministic input-token estimate: words of the system prompt, messages and tools."""
    return payload_tokens(payload, ("system", "messages", "tools"))


async def _read(request: Request, *required_ints: str) -> dict[str, Any] | Response:
    """The request body as an object, or the 400 Anthropic answers to a malformed one."""
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return error(400, "The request body is not valid JSON.")
    if not isinstance(payload, dict):
        return error(400, "The request body must be a JSON object.")
    if not isinstance(payload.get("model"), str):
        return error(400, "model: Field required (a string)")
    if not isinstance(payload.get("messages"), list):
        return error(400, "messages: Field required (a list)")
    for key in required_ints:
        value = payload.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            return error(400, f"{key}: Field required (an integer)")
    return payload


def _unknown(model: str) -> Response:
    return error(404, f"model: {model} (try one of {[*MODELS, *PROTOCOL_MODELS]})")


def models_body() -> bytes:
    """`GET /v1/models` in Anthropic's shape (asked with an `anthropic-version` header)."""
    ids = [*MODELS, *PROTOCOL_MODELS]
    data = [{"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"} for m in ids]
    return orjson.dumps({"data": data, "has_more": False, "first_id": ids[0], "last_id": ids[-1]})


def routes(defaults: DemoDefaults) -> list[Route]:
    """The Anthropic Messages routes, answering with the scripted models under `defaults`."""

    async def messages(request: Request) -> Response:
        payload = await _read(request, "max_tokens")
        if isinstance(payload, Response):
            return payload
        model: str = payload["model"]
        turn = anthropic_turn(payload["messages"], payload.get("tools"))
        answer = script(model, payload, turn, defaults)
        if answer is None:
            return _unknown(model)
        if isinstance(answer, Failure):
            return error(answer.status, answer.message)
        hostile = hostile_shapes.shape_of(turn.user_text) if model == "demo-tool" else None
        if hostile is not None:
            answer = hostile_answer(hostile_shapes.plan(*hostile))
        tokens = estimate_tokens(payload)
        if payload.get("stream") is not True:
            return json_response(aw.message_body(model, answer, tokens), headers=_headers())
        frames = aw.stream_frames(model, answer, tokens)
        return stream_response(frames, answer.delay_s, headers=_headers())

    async def count(request: Request) -> Response:
        payload = await _read(request)
        if isinstance(payload, Response):
            return payload
        if payload["model"] not in (*MODELS, *PROTOCOL_MODELS):
            return _unknown(payload["model"])
        return json_response(orjson.dumps({"input_tokens": estimate_tokens(payload)}), headers=_headers())

    return [
        Route("/v1/messages", messages, methods=["POST"]),
        Route("/v1/messages/count_tokens", count, methods=["POST"]),
    ]
