"""The native front door: OpenAI-compatible `/v1/chat/completions` and `/v1/models` served by the
control plane, policed in-process. Errors are OpenAI-shaped so every OpenAI client understands them."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from luthien_proxy.doors.native.calls import CallIds, NativeCalls
from luthien_proxy.doors.native.door import native_door
from luthien_proxy.doors.native.forms import OPENAI_CHAT_FORM, CallError
from luthien_proxy.doors.native.upstream_wire import NO_CLIENT, ClientRequest
from luthien_proxy.web.frame_writer import FrameWriter
from luthien_proxy.web.request_body import read_json_object
from luthien_proxy.web.responses import JSONBody

router = APIRouter(prefix="/v1", tags=["native front door"])


def _error(error: CallError, headers: dict[str, str] | None = None) -> JSONBody:
    return JSONBody(OPENAI_CHAT_FORM.error_body(error), status_code=error.status_code, headers=headers)


def authorize(request: Request) -> str | None:
    """Clients use the same key as the LiteLLM front door (`LITELLM_MASTER_KEY`) or one of the named
    keys (`LUTHIEN_CLIENT_KEYS`); returns the named key's name (None: the master key)."""
    door = native_door(request)
    if not door.enabled:
        raise CallError(
            503, "the native front door is disabled: set LITELLM_MASTER_KEY", "configuration_error"
        )
    supplied = request.headers.get("authorization", "")
    token = supplied[7:] if supplied[:7].lower() == "bearer " else request.headers.get("api-key", "")
    try:
        return door.key_name(token)
    except KeyError:
        raise CallError(
            401, "missing or wrong API key (Authorization: Bearer <key>)", "authentication_error"
        ) from None


def _validate(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise CallError(400, "'model' must be a non-empty string", "invalid_request_error")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise CallError(400, "'messages' must be a non-empty list", "invalid_request_error")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise CallError(400, "'stream' must be true or false", "invalid_request_error")


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


async def stream_in_task(
    calls: NativeCalls,
    body: dict[str, Any],
    ids: CallIds,
    receive: Receive,
    out: FrameWriter,
    client: ClientRequest = NO_CLIENT,
) -> None:
    """Run the stream in this task; a client that hangs up mid-stream cancels it (uvicorn's `send`
    drops frames silently once the client is gone, so only `receive` can tell)."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    async def watch() -> None:
        nonlocal gone
        while (await receive())["type"] != "http.disconnect":
            pass
        if not out.ended:
            gone = True
            task.cancel()

    watcher = asyncio.create_task(watch())
    try:
        await calls.stream(body, ids, out, client)
    except asyncio.CancelledError:
        if not gone:
            raise
        task.uncancel()
    finally:
        watcher.cancel()
        await out.aclose()


class ChatCompletions:
    """`POST /v1/chat/completions`: a chat completion through the active policy, streamed (SSE) or not.

    A plain ASGI endpoint rather than a FastAPI route: this is the data plane, and FastAPI's
    per-request dependency machinery (and StreamingResponse's relay task group) cost more than the
    policy. `document` adds it to the OpenAPI schema by hand.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _chat_completions(scope, receive, send)


async def _chat_completions(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    chat: NativeCalls = native_door(request).chat
    ids = CallIds.new(request.headers.get("x-litellm-trace-id"))
    headers = {"x-litellm-call-id": ids.call_id}
    try:
        ids = ids.of_key(authorize(request))
        headers["x-litellm-call-id"] = ids.call_id
        try:
            body = await read_json_object(request, native_door(request).max_body_bytes)
        except HTTPException as exc:
            raise CallError(exc.status_code, str(exc.detail), "invalid_request_error") from None
        _validate(body)
        if body.get("stream"):
            # A `CallError` from here means nothing was sent yet (see `NativeCalls.stream`).
            await stream_in_task(chat, body, ids, receive, FrameWriter(send, headers))
            return
        response: Response = JSONBody(await chat.complete(body, ids), headers=headers)
    except CallError as error:
        response = _error(error, headers)
    await response(scope, receive, send)


chat_route = Route("/v1/chat/completions", ChatCompletions(), methods=["POST"], name="chat_completions")


def document(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` (the app's OpenAPI document) with the chat route in it, as FastAPI would list it."""
    schema.setdefault("paths", {})["/v1/chat/completions"] = {
        "post": {
            "tags": ["native front door"],
            "summary": "Chat Completions",
            "description": "A chat completion through the active policy, streamed (SSE) or not.",
            "operationId": "chat_completions_v1_chat_completions_post",
            **_CHAT_SCHEMA,
            "responses": {"200": {"description": "The completion, or an SSE stream when `stream` is true"}},
        }
    }
    return schema


@router.get("/models", response_model=None)
async def list_models(request: Request) -> Response:
    """The models this front door serves."""
    chat: NativeCalls = native_door(request).chat
    try:
        authorize(request)
    except CallError as error:
        return _error(error)
    data = [{"id": name, "object": "model", "created": 0, "owned_by": "luthien"} for name in chat.served()]
    return JSONBody({"object": "list", "data": data})
