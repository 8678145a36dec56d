"""The native door's OpenAI Responses API: `POST /v1/responses`, policed, JSON or SSE (Codex CLI's
only API). It serves the OpenAI-compatible models of the config (their `/responses`), with the same
key as `/v1/chat/completions`; Codex's `session-id` header makes one session one trace."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from luthien_proxy.doors.native.calls import CallIds
from luthien_proxy.doors.native.door import native_door
from luthien_proxy.doors.native.forms import OPENAI_RESPONSES_FORM, CallError
from luthien_proxy.doors.native.routes import authorize, stream_in_task
from luthien_proxy.web.frame_writer import FrameWriter
from luthien_proxy.web.request_body import read_json_object
from luthien_proxy.web.responses import JSONBody

#: Codex names its session (thread) in this header on every request of a run.
SESSION_HEADER = "session-id"


def _validate(body: dict[str, Any]) -> None:
    if not isinstance(body.get("model"), str) or not body["model"]:
        raise CallError(400, "'model' must be a non-empty string", "invalid_request_error")
    if not isinstance(body.get("input"), str | list):
        raise CallError(400, "'input' must be a string or a list of items", "invalid_request_error")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise CallError(400, "'stream' must be true or false", "invalid_request_error")


async def _responses(scope: Scope, receive: Receive, send: Send) -> None:
    request = Request(scope, receive)
    door = native_door(request)
    trace = request.headers.get("x-litellm-trace-id") or request.headers.get(SESSION_HEADER)
    ids = CallIds.new(trace)
    headers = {"x-litellm-call-id": ids.call_id}
    try:
        ids = ids.of_key(authorize(request))
        headers["x-litellm-call-id"] = ids.call_id
        try:
            body = await read_json_object(request, door.max_body_bytes)
        except HTTPException as exc:
            raise CallError(exc.status_code, str(exc.detail), "invalid_request_error") from None
        _validate(body)
        if body.get("stream"):
            await stream_in_task(door.responses, body, ids, receive, FrameWriter(send, headers))
            return
        response: Response = JSONBody(await door.responses.complete(body, ids), headers=headers)
    except CallError as error:
        response = JSONBody(
            OPENAI_RESPONSES_FORM.error_body(error), status_code=error.status_code, headers=headers
        )
    await response(scope, receive, send)


class _Responses:
    """A plain ASGI endpoint (the data plane: FastAPI's per-request machinery costs more than the policy)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _responses(scope, receive, send)


responses_route = Route("/v1/responses", _Responses(), methods=["POST"], name="responses")
