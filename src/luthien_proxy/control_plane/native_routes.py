"""The native front door: OpenAI-compatible `/v1/chat/completions` and `/v1/models` served by the
control plane, policed in-process. Errors are OpenAI-shaped so every OpenAI client understands them."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response, StreamingResponse

from luthien_proxy.control_plane.request_body import read_json_object
from luthien_proxy.control_plane.responses import JSONBody
from luthien_proxy.native.chat import CallIds, ChatError, NativeChat

router = APIRouter(prefix="/v1", tags=["native front door"])


def _error(error: ChatError, headers: dict[str, str] | None = None) -> JSONBody:
    return JSONBody(error.body(), status_code=error.status_code, headers=headers)


def _authorize(request: Request) -> None:
    """Clients use the same key as the LiteLLM front door (`LITELLM_MASTER_KEY`)."""
    expected = request.app.state.services.settings.client_key
    if expected is None:
        raise ChatError(
            503, "the native front door is disabled: set LITELLM_MASTER_KEY", "configuration_error"
        )
    supplied = request.headers.get("authorization", "")
    token = supplied[7:] if supplied[:7].lower() == "bearer " else request.headers.get("api-key", "")
    if not token or not hmac.compare_digest(token.encode(), expected.encode()):
        raise ChatError(401, "missing or wrong API key (Authorization: Bearer <key>)", "authentication_error")


def _validate(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise ChatError(400, "'model' must be a non-empty string", "invalid_request_error")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ChatError(400, "'messages' must be a non-empty list", "invalid_request_error")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise ChatError(400, "'stream' must be true or false", "invalid_request_error")


_CHAT_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["model", "messages"],
                    "properties": {
                        "model": {"type": "string"},
                        "messages": {"type": "array", "items": {"type": "object"}},
                        "stream": {"type": "boolean"},
                    },
                    "additionalProperties": True,
                }
            }
        },
    }
}


@router.post("/chat/completions", response_model=None, openapi_extra=_CHAT_SCHEMA)
async def chat_completions(request: Request) -> Response:
    """A chat completion through the active policy, streamed (SSE) or not."""
    chat: NativeChat = request.app.state.native_chat
    ids = CallIds.new(request.headers.get("x-litellm-trace-id"))
    headers = {"x-litellm-call-id": ids.call_id}
    try:
        _authorize(request)
        try:
            body = await read_json_object(request, chat.services.settings.max_body_bytes)
        except HTTPException as exc:
            raise ChatError(exc.status_code, str(exc.detail), "invalid_request_error") from None
        _validate(body)
        if body.get("stream"):
            frames = await chat.stream(body, ids)
            return StreamingResponse(
                frames, media_type="text/event-stream", headers={**headers, "cache-control": "no-cache"}
            )
        return JSONBody(await chat.complete(body, ids), headers=headers)
    except ChatError as error:
        return _error(error, headers)


@router.get("/models", response_model=None)
async def list_models(request: Request) -> Response:
    """The models this front door serves."""
    chat: NativeChat = request.app.state.native_chat
    try:
        _authorize(request)
    except ChatError as error:
        return _error(error)
    data = [
        {"id": name, "object": "model", "created": 0, "owned_by": "luthien"} for name in sorted(chat.routes)
    ]
    return JSONBody({"object": "list", "data": data})
