"""Starlette app for the demo upstream: routes requests to canned behaviours chosen by model name.

One script per model (`answers`), three wire encoders: OpenAI chat here, Anthropic Messages in
`anthropic_app`, OpenAI Responses in `openai_responses_app`.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from luthien_proxy.instance_id import instance_headers
from luthien_proxy.tooling.demo_upstream import alerts, anthropic_app, hostile_shapes, openai_responses_app
from luthien_proxy.tooling.demo_upstream import responses as r
from luthien_proxy.tooling.demo_upstream.answers import (
    MAX_CHUNKS,
    MAX_DELAY_MS,
    MODELS,
    DemoDefaults,
    Failure,
    script,
)
from luthien_proxy.tooling.demo_upstream.openai_wire import answer_completion, answer_frames, openai_turn
from luthien_proxy.tooling.demo_upstream.protocol_models import PROTOCOL_MODELS
from luthien_proxy.tooling.demo_upstream.wire_http import json_response, stream_response

__all__ = ["MAX_CHUNKS", "MAX_DELAY_MS", "MODELS", "DemoDefaults", "create_app"]


def _error(
    message: str, status: int, err_type: str = "invalid_request_error", code: str | None = None
) -> Response:
    return json_response(r.error_body(message, status, err_type, code), status)


def _stream(frames: Iterable[bytes], delay_s: float = 0.0) -> Response:
    return stream_response(frames, delay_s, tail=r.DONE_FRAME)


def _with_usage(
    frames: Iterable[bytes], writer: r.ChunkWriter, prompt: int, completion: int
) -> Iterable[bytes]:
    yield from frames
    yield writer.usage_frame(prompt, completion)


def _models(request: Request) -> bytes:
    if "anthropic-version" in request.headers:  # the anthropic SDK's models.list() reads its own shape
        return anthropic_app.models_body()
    data = [
        {"id": m, "object": "model", "created": 0, "owned_by": "luthien-demo"}
        for m in (*MODELS, *PROTOCOL_MODELS)
    ]
    return orjson.dumps({"object": "list", "data": data})


def create_app(defaults: DemoDefaults | None = None) -> Starlette:
    """Build the demo upstream ASGI app."""
    cfg = defaults or DemoDefaults()
    sink = alerts.AlertSink()

    async def health(_: Request) -> Response:
        # The instance header proves to `luthien up` that this answer is its child's.
        return Response(b'{"status":"ok"}', media_type="application/json", headers=instance_headers())

    async def models(request: Request) -> Response:
        return json_response(_models(request))

    async def chat_completions(request: Request) -> Response:
        try:
            payload = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return _error("request body is not valid JSON", 400)
        if not isinstance(payload, dict):
            return _error("request body must be a JSON object", 400)
        model = str(payload.get("model"))
        messages = payload.get("messages")
        if not isinstance(messages, list):
            return _error("'messages' must be a list", 400)
        stream = payload.get("stream") is True
        opts = payload.get("stream_options")
        include_usage = isinstance(opts, dict) and opts.get("include_usage") is True

        turn = openai_turn(messages, payload.get("tools"))
        # Hostile shapes are OpenAI wire placements (legacy field, extra choice): their own writer.
        hostile = hostile_shapes.shape_of(turn.user_text) if model == "demo-tool" else None
        if hostile is not None:
            shaped = hostile_shapes.plan(*hostile)
            if not stream:
                return json_response(hostile_shapes.completion(model, shaped))
            return _stream(hostile_shapes.stream_frames(model, shaped))

        answer = script(model, payload, turn, cfg)
        if answer is None:
            return _error(
                f"The model '{model}' does not exist. Try one of {list(MODELS)}.", 404, code="model_not_found"
            )
        if isinstance(answer, Failure):
            return _error(answer.message, answer.status, "server_error")
        prompt = r.prompt_tokens(messages)
        if not stream:
            return json_response(answer_completion(model, answer, prompt))
        writer = r.ChunkWriter(model)
        frames = answer_frames(writer, answer)
        if include_usage:
            frames = _with_usage(frames, writer, prompt, answer.output_tokens())
        return _stream(frames, answer.delay_s)

    routes = [
        Route("/health", health, methods=["GET"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/chat/completions", chat_completions, methods=["POST"]),
        *anthropic_app.routes(cfg),
        *openai_responses_app.routes(cfg),
        Route("/alerts", sink.receive, methods=["POST"]),
        Route("/alerts", sink.listing, methods=["GET"]),
        Route("/alerts/fail", sink.fail, methods=["POST"]),
        Route("/v1/alerts", sink.receive, methods=["POST"]),
        Route("/v1/alerts", sink.listing, methods=["GET"]),
        Route("/v1/alerts/fail", sink.fail, methods=["POST"]),
    ]
    return Starlette(routes=routes)
