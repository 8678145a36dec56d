"""`POST /api/hooks/{hook_name}`: the LiteLLM callback's synchronous hooks, policed and recorded."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import Response

from luthien_proxy.doors.litellm.door import LiteLLMDoor, litellm_door, require_proxy_token
from luthien_proxy.pipeline import HOOK_RUNNERS, HookInputError
from luthien_proxy.redaction import without_credentials
from luthien_proxy.web.request_body import read_json_object
from luthien_proxy.web.responses import JSONBody
from luthien_proxy.wire import DECISION_HEADER, DECISION_REJECT, HOOKS_PATH

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


@router.post("/{hook_name}", dependencies=[Depends(require_proxy_token)], openapi_extra=_PAYLOAD_SCHEMA)
async def run_hook(hook_name: str, request: Request, door: Door) -> Response:
    """Record the payload, run the policy's handler, record the result, publish events.

    Returns the payload with the policy's changes applied. A policy rejection is a 4xx with the
    `x-luthien-decision: reject` header, so the callback can tell it from a failure.
    """
    if hook_name not in HOOK_RUNNERS:
        raise HTTPException(404, detail=f"unknown hook {hook_name!r}; known hooks: {', '.join(HOOK_RUNNERS)}")
    payload = await read_json_object(request, door.max_body_bytes)
    try:
        outcome = await door.pipeline.run_hook(hook_name, payload)
    except HookInputError as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if outcome.rejection is not None:
        rejection = outcome.rejection
        return JSONBody(
            {
                "error": {
                    "message": rejection.message,
                    "type": "policy_rejection",
                    "code": rejection.status_code,
                }
            },
            status_code=rejection.status_code,
            headers={DECISION_HEADER: DECISION_REJECT},
        )
    # Content as the policy left it (the callback forwards it); no credential handed back.
    return JSONBody(without_credentials(outcome.result))


@read_router.get("/counters")
async def hook_counters(door: Door) -> dict[str, Any]:
    """How many times each hook ran in this process, and how many calls were rejected."""
    return {"counters": dict(door.pipeline.hooks.counters)}
