"""The native door's Anthropic Messages API: `POST /v1/messages` (policed, JSON or SSE) and
`POST /v1/messages/count_tokens` (forwarded), errors in Anthropic's shape.

Query strings (`?beta=true`) and every `anthropic-*` header go upstream unchanged. A model whose
config entry sets `model_info.luthien_forward_client_key` takes the caller's own `x-api-key` or
bearer token upstream (a Claude subscription, a personal key): those callers need no Luthien key,
and their credential is never recorded. Every other model needs the door's key, as `/v1/chat`.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from luthien_proxy.doors.native.calls import CallIds, NativeCalls
from luthien_proxy.doors.native.door import NativeDoor, native_door
from luthien_proxy.doors.native.forms import ANTHROPIC_MESSAGES_FORM, CallError
from luthien_proxy.doors.native.routes import stream_in_task
from luthien_proxy.doors.native.upstream import ClientRequest, UpstreamError
from luthien_proxy.doors.native.upstream_wire import COUNT_TOKENS
from luthien_proxy.model_routes import ModelRoute
from luthien_proxy.web.frame_writer import FrameWriter
from luthien_proxy.web.request_body import read_json_object
from luthien_proxy.web.responses import JSONBody

#: Claude Code names its session in this header on every request of a run: one session, one trace.
SESSION_HEADER = "x-claude-code-session-id"


def _error(error: CallError, headers: dict[str, str] | None = None) -> JSONBody:
    return JSONBody(ANTHROPIC_MESSAGES_FORM.error_body(error), status_code=error.status_code, headers=headers)


def _credential(request: Request) -> tuple[str, str] | None:
    """The caller's credential header as sent: `x-api-key`, else `Authorization: Bearer ...`."""
    key = request.headers.get("x-api-key")
    if key:
        return "x-api-key", key
    bearer = request.headers.get("authorization", "")
    if bearer[:7].lower() == "bearer " and bearer[7:].strip():
        return "authorization", bearer
    return None


def _authorize(door: NativeDoor, route: ModelRoute | None, credential: tuple[str, str] | None) -> str | None:
    """A pass-through model needs some credential (its upstream checks it); any other the door's
    key or a named key, whose name is returned (None: the master key, or a pass-through model)."""
    if route is not None and route.forward_client_key:
        if credential is None:
            raise CallError(401, "this model needs your own key: send x-api-key", "authentication_error")
        return None
    if not door.enabled:
        raise CallError(
            503, "the native front door is disabled: set LITELLM_MASTER_KEY", "configuration_error"
        )
    supplied = credential[1].removeprefix("Bearer ").removeprefix("bearer ") if credential else ""
    try:
        return door.key_name(supplied)
    except KeyError:
        raise CallError(401, "missing or wrong API key (x-api-key: <key>)", "authentication_error") from None


def _validate(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise CallError(400, "model: must be a non-empty string", "invalid_request_error")
    if not isinstance(body.get("messages"), list):
        raise CallError(400, "messages: must be a list", "invalid_request_error")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise CallError(400, "stream: must be true or false", "invalid_request_error")


def session_trace(request: Request, body: dict[str, Any]) -> str | None:
    """The trace of a call: the trace header, else the agent's session (Claude Code's header, or
    the `session_id` in `metadata.user_id`, a JSON string)."""
    for header in ("x-litellm-trace-id", SESSION_HEADER):
        if value := request.headers.get(header):
            return value
    metadata = body.get("metadata")
    user_id = metadata.get("user_id") if isinstance(metadata, dict) else None
    if isinstance(user_id, str) and user_id.startswith("{"):
        try:
            session = orjson.loads(user_id).get("session_id")
        except (orjson.JSONDecodeError, AttributeError):
            return None
        return session if isinstance(session, str) and session else None
    return None


async def _prepared(
    request: Request,
) -> tuple[NativeCalls, dict[str, Any], ModelRoute, ClientRequest, str | None]:
    """The door's call service, the checked body, its route, what of the client goes upstream and
    the name of the client's named key."""
    door = native_door(request)
    credential = _credential(request)
    try:
        body = await read_json_object(request, door.max_body_bytes)
    except HTTPException as exc:
        raise CallError(exc.status_code, str(exc.detail), "invalid_request_error") from None
    model = body.get("model")
    route = door.messages.routes.find(door.messages.form.routes, model) if isinstance(model, str) else None
    key = _authorize(door, route, credential)
    _validate(body)
    query = request.scope["query_string"].decode("latin-1")
    client = ClientRequest(
        query=f"?{query}" if query else "",
        headers={k: v for k, v in request.headers.items() if k.startswith("anthropic-")},
        credential=credential if route is not None and route.forward_client_key else None,
    )
    return door.messages, body, door.messages.route_for(str(body["model"])), client, key


async def _messages(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    ids = CallIds.new(None)
    headers = {"x-litellm-call-id": ids.call_id}
    try:
        calls, body, _, client, key = await _prepared(request)
        ids = CallIds.new(session_trace(request, body), key)
        headers["x-litellm-call-id"] = ids.call_id
        if body.get("stream"):
            # A `CallError` from here means nothing was sent yet (see `NativeCalls.stream`).
            await stream_in_task(calls, body, ids, receive, FrameWriter(send, headers), client)
            return
        response: Response = JSONBody(await calls.complete(body, ids, client), headers=headers)
    except CallError as error:
        response = _error(error, headers)
    await response(scope, receive, send)


async def _count_tokens(scope: Scope, receive: Receive, send: Send) -> None:
    """Forwarded as it is: a count carries no model output, so there is nothing to police or record."""
    request = Request(scope, receive)
    try:
        calls, body, route, client, _ = await _prepared(request)
        try:
            upstream = {**body, "model": route.upstream_model}
            answer = await calls.upstreams.complete(route, upstream, client, COUNT_TOKENS)
        except UpstreamError as exc:
            raise CallError(exc.status_code, exc.message, "upstream_error", exc.kind) from None
        response: Response = JSONBody(answer)
    except CallError as error:
        response = _error(error)
    await response(scope, receive, send)


class _Endpoint:
    """A plain ASGI endpoint (the data plane: FastAPI's per-request machinery costs more than the policy)."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handler(scope, receive, send)


messages_routes = [
    Route("/v1/messages", _Endpoint(_messages), methods=["POST"], name="messages"),
    Route("/v1/messages/count_tokens", _Endpoint(_count_tokens), methods=["POST"], name="count_tokens"),
]
