"""`POST /api/hooks/{hook_name}`: the LiteLLM callback's synchronous hooks, policed and recorded."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from luthien_proxy.doors.litellm.door import LiteLLMDoor, litellm_door, require_proxy_token
from luthien_proxy.pipeline import HOOK_RUNNERS, HookInputError
from luthien_proxy.redaction import without_credentials
from luthien_proxy.web.request_body import read_json_object
from luthien_proxy.web.responses import JSONBody
from luthien_proxy.wire import (
    DECISION_HEADER,
    DECISION_REJECT,
    HOOKS_PATH,
    LATE_ANSWER_HEADER,
    LATE_ANSWER_KEY,
)

logger = logging.getLogger(__name__)
router = APIRouter(prefix=HOOKS_PATH, tags=["hooks"])
#: Read-only hook endpoints, mounted behind the admin key.
read_router = APIRouter(prefix=HOOKS_PATH, tags=["hooks"])

Door = Annotated[LiteLLMDoor, Depends(litellm_door)]


_PAYLOAD_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object", "additionalProperties": True}}},
    }
}


#: (status, headers, body) of a hook's answer.
Answer = tuple[int, dict[str, str], Any]


@router.post("/{hook_name}", dependencies=[Depends(require_proxy_token)], openapi_extra=_PAYLOAD_SCHEMA)
async def run_hook(hook_name: str, request: Request, door: Door) -> Response:
    """Record the payload, run the policy's handler, record the result, publish events.

    Returns the payload with the policy's changes applied. A policy rejection is a 4xx with the
    `x-luthien-decision: reject` header, so the callback can tell it from a failure. A policy that
    takes longer than the door's keepalive period (a judge, a call held for audit) answers late:
    200 with `x-luthien-late-answer`, a space every period, then the answer it would have sent,
    wrapped (`LATE_ANSWER_KEY`), so the callback's read timeout tells a busy policy from a dead one.
    """
    if hook_name not in HOOK_RUNNERS:
        raise HTTPException(404, detail=f"unknown hook {hook_name!r}; known hooks: {', '.join(HOOK_RUNNERS)}")
    payload = await read_json_object(request, door.max_body_bytes)
    task = asyncio.ensure_future(_answer(door, hook_name, payload))
    try:
        await asyncio.wait((task,), timeout=door.keepalive_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not task.done():
        return StreamingResponse(
            _late(task, door.keepalive_s),
            media_type="application/json",
            headers={LATE_ANSWER_HEADER: "1"},
        )
    status, headers, body = task.result()
    return JSONBody(body, status_code=status, headers=headers)


async def _answer(door: LiteLLMDoor, hook_name: str, payload: dict[str, Any]) -> Answer:
    try:
        outcome = await door.pipeline.run_hook(hook_name, payload)
    except HookInputError as exc:
        return 422, {}, {"detail": str(exc)}
    if outcome.rejection is not None:
        rejection = outcome.rejection
        error = {"message": rejection.message, "type": "policy_rejection", "code": rejection.status_code}
        return rejection.status_code, {DECISION_HEADER: DECISION_REJECT}, {"error": error}
    # Content as the policy left it (the callback forwards it); no credential handed back.
    return 200, {}, without_credentials(outcome.result)


async def _late(task: asyncio.Future[Answer], every_s: float) -> AsyncIterator[bytes]:
    """A space now and every `every_s` until the answer, then the answer; leaving early (the
    callback went away) cancels the policy's work."""
    try:
        while not task.done():
            yield b" "
            await asyncio.wait((task,), timeout=every_s)
        try:
            status, headers, body = task.result()
        except Exception as exc:
            logger.exception("hook answered late failed")
            status, headers = 500, {}
            body = {"detail": f"internal error: {type(exc).__name__}; see the control-plane log"}
        late = {"status_code": status, "decision": headers.get(DECISION_HEADER), "body": body}
        yield orjson.dumps({LATE_ANSWER_KEY: late})
    finally:
        task.cancel()


@read_router.get("/counters")
async def hook_counters(door: Door) -> dict[str, Any]:
    """How many times each hook ran in this process, and how many calls were rejected."""
    return {"counters": dict(door.pipeline.hooks.counters)}
