"""The demo upstream's OpenAI Responses endpoint: `POST /v1/responses`, a Response JSON or its SSE events.

Read as leniently as Codex CLI needs: `input` a string or items (messages of any role with
`input_text` / `output_text` parts, `function_call` and `function_call_output` items; reasoning and
unknown items skipped), any tools (`namespace`, `web_search`), and `store`, `include`,
`prompt_cache_key`, `client_metadata`, `reasoning` accepted and not acted on. Headers
(`authorization`, `session-id`, ...) are neither checked nor echoed. Nothing is stored: every
request stands alone, as `store: false` asks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from luthien_proxy.tooling.demo_upstream import hostile_shapes
from luthien_proxy.tooling.demo_upstream import openai_responses_wire as rw
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
from luthien_proxy.tooling.demo_upstream.responses import error_body, payload_tokens
from luthien_proxy.tooling.demo_upstream.wire_http import json_response, stream_response

_TEXT_PARTS = ("input_text", "output_text", "text")
#: Items that end a conversation on a tool's result, which demo-agent reports.
_RESULTS = ("function_call_output", "custom_tool_call_output")
#: Items that are turns of the conversation; anything else (reasoning, unknown kinds) is skipped.
_TURNS = ("message", "function_call", "custom_tool_call", *_RESULTS)


def _error(message: str, status: int, err_type: str, code: str | None = None) -> Response:
    return json_response(error_body(message, status, err_type, code), status)


def _kind(item: Mapping[str, Any]) -> str | None:
    kind = item.get("type")
    if kind is None and "role" in item:  # an "easy" input message may leave its type out
        return "message"
    return kind if isinstance(kind, str) else None


def _parts(content: Any) -> tuple[str, ...]:
    """Text of a message's content or a tool output: a string, or its text parts one by one."""
    if isinstance(content, str):
        return (content,)
    if isinstance(content, list):
        return tuple(
            p["text"]
            for p in content
            if isinstance(p, Mapping) and p.get("type") in _TEXT_PARTS and isinstance(p.get("text"), str)
        )
    return ()


def responses_turn(payload: Mapping[str, Any]) -> Turn:
    """The scripts' view of a Responses request: its last user message, and the result it ends on."""
    raw = payload.get("input")
    if isinstance(raw, str):
        items: list[Mapping[str, Any]] = [{"type": "message", "role": "user", "content": raw}]
    else:
        items = [i for i in raw if isinstance(i, Mapping)] if isinstance(raw, list) else []
    users = [i for i in items if _kind(i) == "message" and i.get("role") == "user"]
    parts = _parts(users[-1].get("content")) if users else ()
    turns = [i for i in items if _kind(i) in _TURNS]
    result = None
    if turns and _kind(turns[-1]) in _RESULTS:
        result = "\n".join(_parts(turns[-1].get("output")))
    return Turn(" ".join(parts), parts, result, len(items), offered_tools(payload.get("tools")))


async def _read(request: Request) -> dict[str, Any] | Response:
    """The request body as an object, or the 400 OpenAI answers to a malformed one."""
    try:
        payload = orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        return _error("We could not parse the JSON body of your request.", 400, "invalid_request_error")
    if not isinstance(payload, dict):
        return _error("The request body must be a JSON object.", 400, "invalid_request_error")
    if not isinstance(payload.get("model"), str):
        return _error(
            "Missing required parameter: 'model'.", 400, "invalid_request_error", "missing_required_parameter"
        )
    if not isinstance(payload.get("input"), (str, list)):
        return _error(
            "Missing required parameter: 'input'.", 400, "invalid_request_error", "missing_required_parameter"
        )
    return payload


def routes(defaults: DemoDefaults) -> list[Route]:
    """The Responses routes, answering with the scripted models under `defaults`."""

    async def create(request: Request) -> Response:
        payload = await _read(request)
        if isinstance(payload, Response):
            return payload
        model: str = payload["model"]
        turn = responses_turn(payload)
        answer = script(model, payload, turn, defaults)
        if answer is None:
            known = [*MODELS, *PROTOCOL_MODELS]
            return _error(
                f"The model '{model}' does not exist. Try one of {known}.",
                404,
                "invalid_request_error",
                "model_not_found",
            )
        stream = payload.get("stream") is True
        writer = rw.ResponseWriter(
            model, payload, payload_tokens(payload, ("instructions", "input", "tools"))
        )
        if isinstance(answer, Failure):
            # A stream has started before a model fails; a plain request gets the HTTP error.
            if stream:
                return stream_response(rw.failed_events(writer, answer))
            return _error(answer.message, answer.status, "server_error")
        hostile = hostile_shapes.shape_of(turn.user_text) if model == "demo-tool" else None
        if hostile is not None:
            answer = hostile_answer(hostile_shapes.plan(*hostile))
        if not stream:
            return json_response(orjson.dumps(rw.response_body(writer, answer)))
        return stream_response(rw.stream_events(writer, answer), answer.delay_s)

    return [
        Route("/v1/responses", create, methods=["POST"]),
        Route("/responses", create, methods=["POST"]),
    ]
