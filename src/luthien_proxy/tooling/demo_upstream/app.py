"""Starlette app for the demo upstream: routes requests to canned behaviours chosen by model name."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from luthien_proxy.instance_id import instance_headers
from luthien_proxy.tooling.demo_upstream import hostile_shapes, scripted
from luthien_proxy.tooling.demo_upstream import responses as r
from luthien_proxy.tooling.demo_upstream.protocol_models import PROTOCOL_MODELS

MODELS = ("demo-echo", "demo-long", "demo-tool", "demo-error")
MAX_CHUNKS = 100_000
MAX_DELAY_MS = 10_000
_JSON = "application/json"


@dataclass(frozen=True)
class DemoDefaults:
    """Server-wide defaults for demo-long, overridable per request."""

    long_chunks: int = 50
    long_delay_ms: float = 0.0


def _json(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type=_JSON)


def _error(
    message: str, status: int, err_type: str = "invalid_request_error", code: str | None = None
) -> Response:
    return _json(r.error_body(message, status, err_type, code), status)


def _num_field(payload: dict[str, Any], key: str, default: float, low: float, high: float) -> float:
    """Read a numeric per-request knob, clamped to a sane range; bad values fall back to the default."""
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return min(max(value, low), high)


async def _paced(frames: Iterable[bytes], delay_s: float) -> AsyncIterator[bytes]:
    """Yield frames with an optional delay before each content frame."""
    for frame in frames:
        if delay_s > 0:
            await asyncio.sleep(delay_s)
        yield frame
    yield r.DONE_FRAME


def _stream(frames: Iterable[bytes], delay_s: float = 0.0) -> StreamingResponse:
    return StreamingResponse(
        _paced(frames, delay_s), media_type="text/event-stream", headers={"cache-control": "no-cache"}
    )


def _with_usage(
    frames: Iterable[bytes], writer: r.ChunkWriter, prompt: int, completion: int
) -> Iterable[bytes]:
    yield from frames
    yield writer.usage_frame(prompt, completion)


def create_app(defaults: DemoDefaults | None = None) -> Starlette:
    """Build the demo upstream ASGI app."""
    cfg = defaults or DemoDefaults()
    alerts = scripted.AlertSink()

    async def health(_: Request) -> Response:
        # The instance header proves to `luthien up` that this answer is its child's.
        return Response(b'{"status":"ok"}', media_type=_JSON, headers=instance_headers())

    async def models(_: Request) -> Response:
        data = [
            {"id": m, "object": "model", "created": 0, "owned_by": "luthien-demo"}
            for m in (*MODELS, *PROTOCOL_MODELS)
        ]
        return _json(orjson.dumps({"object": "list", "data": data}))

    async def chat_completions(request: Request) -> Response:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _error("request body is not valid JSON", 400)
        if not isinstance(payload, dict):
            return _error("request body must be a JSON object", 400)
        model = payload.get("model")
        messages = payload.get("messages")
        if not isinstance(messages, list):
            return _error("'messages' must be a list", 400)
        stream = payload.get("stream") is True
        opts = payload.get("stream_options")
        include_usage = isinstance(opts, dict) and opts.get("include_usage") is True
        prompt = r.prompt_tokens(messages)

        if model == "demo-error":
            status = int(_num_field(payload, "demo_status", 500, 400, 599))
            return _error(f"demo-error: simulated upstream failure ({status})", status, "server_error")

        hostile = hostile_shapes.shape_of(r.last_user_text(messages)) if model == "demo-tool" else None
        if hostile is not None:
            shaped = hostile_shapes.plan(*hostile)
            if not stream:
                return _json(hostile_shapes.completion("demo-tool", shaped))
            return _stream(hostile_shapes.stream_frames("demo-tool", shaped))

        scripted_text = scripted.text_reply(str(model), messages)
        found = scripted.scripted_call(payload, messages) if model == "demo-tool" else None
        if found is not None:
            _, behaviour, scripted_id = found
            if not stream:
                return _json(scripted.scripted_completion("demo-tool", behaviour, scripted_id, prompt))
            return _stream(scripted.scripted_frames(r.ChunkWriter("demo-tool"), behaviour, scripted_id))

        if model == "demo-tool":
            call_id = "call_demo_1"
            if not stream:
                return _json(
                    r.completion(model, content=None, prompt=prompt, tool_calls=[r.tool_call(call_id)])
                )
            writer = r.ChunkWriter(model)
            frames = r.tool_frames(writer, call_id)
            completion_tokens = r.count_tokens(r.TOOL_ARGUMENTS)
            return _stream(
                _with_usage(frames, writer, prompt, completion_tokens) if include_usage else frames
            )

        if scripted_text is not None:
            pieces, delay_s = r.words(scripted_text), 0.0
        elif model == "demo-echo":
            pieces, delay_s = r.words(r.echo_text(messages)), 0.0
        elif model == "demo-long":
            chunks = int(_num_field(payload, "demo_chunks", cfg.long_chunks, 1, MAX_CHUNKS))
            delay_s = _num_field(payload, "demo_delay_ms", cfg.long_delay_ms, 0, MAX_DELAY_MS) / 1000
            pieces = r.long_pieces(chunks)
        else:
            return _error(
                f"The model '{model}' does not exist. Try one of {list(MODELS)}.", 404, code="model_not_found"
            )

        text = "".join(pieces)
        if not stream:
            return _json(r.completion(str(model), content=text, prompt=prompt))
        writer = r.ChunkWriter(str(model))
        frames = r.text_frames(writer, pieces)
        if include_usage:
            frames = _with_usage(frames, writer, prompt, r.count_tokens(text))
        return _stream(frames, delay_s)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/chat/completions", chat_completions, methods=["POST"]),
        Route("/alerts", alerts.receive, methods=["POST"]),
        Route("/alerts", alerts.listing, methods=["GET"]),
        Route("/alerts/fail", alerts.fail, methods=["POST"]),
        Route("/v1/alerts", alerts.receive, methods=["POST"]),
        Route("/v1/alerts", alerts.listing, methods=["GET"]),
        Route("/v1/alerts/fail", alerts.fail, methods=["POST"]),
    ]
    return Starlette(routes=routes)
