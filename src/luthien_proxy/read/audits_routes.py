"""The audit queue's API: held tool calls (pending first), one item, a person's decision, and new
items and decisions live as Server-Sent Events; sessions held for their summed suspicion and
clearing them. Decisions go through the shared queue and policy state, so any instance may decide a
call held on another."""

from __future__ import annotations

import json
from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import StreamingResponse

from luthien_proxy.backends.audit import (
    AUDITS_CHANNEL,
    DECISIONS,
    STATUSES,
    AlreadyDecided,
    AuditItem,
    AuditQueue,
    Status,
    UnknownItem,
)
from luthien_proxy.call_scope import MAX_ID_CHARS
from luthien_proxy.model import MalformedToolCall, canonical_arguments
from luthien_proxy.read.sources import read_sources
from luthien_proxy.read.sse import live_events
from luthien_proxy.web.request_body import read_json_object

router = APIRouter(prefix="/api", tags=["audits"])
MAX_COMMENT_CHARS = 2000
MAX_BY_CHARS = 100


def decisions_need_a_key(request: Request) -> None:
    """Deciding is refused while the control plane has no admin key: the agent being audited often
    runs on this very machine, and without a key any process it started could approve its own
    held calls. (Reading the queue follows the other read APIs: open on loopback without a key.)"""
    if request.app.state.services.settings.admin_key is None:
        raise HTTPException(
            403,
            detail=(
                "deciding audits needs an admin key: start the control plane with LUTHIEN_ADMIN_KEY "
                "set (`luthien up` makes one when the policy audits); without one, any local "
                "process, the audited agent's included, could approve its own calls"
            ),
        )


Decider = [Depends(decisions_need_a_key)]


def _queue(request: Request) -> AuditQueue:
    return request.app.state.services.audits


def _public(queue: AuditQueue, item: AuditItem) -> dict[str, Any]:
    return item.public(queue.clock())


@router.get("/audits")
async def audits(
    request: Request,
    status: Annotated[
        str | None, Query(description="pending, approved, denied, edited, timed_out, failed")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """Audit items (`status=pending`: oldest first, what waits longest on top; otherwise newest
    first) and this window's audit budget (`{"used", "limit", "window_s"}`; null when the policy
    audits nothing)."""
    if status is not None and status not in STATUSES:
        raise HTTPException(422, detail=f"unknown status {status!r}; one of {', '.join(STATUSES)}")
    queue = _queue(request)
    items = await queue.list(cast("Status | None", status), limit)
    services = request.app.state.services
    budget = await services.pipeline.policies.current.auditing_policy.audit_budget(services.policy_state)
    return {"items": [_public(queue, item) for item in items], "budget": budget}


@router.get("/audits/stream", response_class=StreamingResponse)
async def audits_stream(request: Request) -> StreamingResponse:
    """Each new item (`audit_created`) and decision (`audit_decided`) as Server-Sent Events:
    `data: {"type": ..., "item": {...}}` frames, `: heartbeat` comments when idle."""
    return await live_events(request, read_sources(request), (AUDITS_CHANNEL,))


@router.get("/audits/sessions")
async def sessions(request: Request) -> dict[str, Any]:
    """Sessions held for their summed suspicion (`audit.session`), and recently cleared ones:
    `{"sessions": [{"scope": "trace" | "key", "trace_id", "key", "total", "level", "since",
    "status": "flagged" | "cleared", "cleared_by", "cleared_at", "comment"}]}`, newest first."""
    services = request.app.state.services
    return {
        "sessions": await services.pipeline.policies.current.auditing_policy.held_sessions(
            services.policy_state
        )
    }


@router.post("/audits/sessions/clear", dependencies=Decider)
async def clear_session(request: Request) -> dict[str, Any]:
    """`{"trace_id": ..., "key": <caller tag, optional>, "comment": "...", "by": "..."}`: the
    session's suspicion restarts from 0 and its calls go through as usual again; published as
    `session_cleared` on the audit stream. 404 when nothing of it is held, 422 a bad body."""
    body = await _body(request)
    trace_id = _text(body, "trace_id", MAX_ID_CHARS)
    key = _text(body, "key", MAX_ID_CHARS)
    if trace_id is None and key is None:
        raise HTTPException(422, detail="'trace_id' (and/or 'key', a caller tag) names the session to clear")
    comment = _text(body, "comment", MAX_COMMENT_CHARS)
    by = _text(body, "by", MAX_BY_CHARS) or "admin"
    services = request.app.state.services
    cleared = await services.pipeline.policies.current.auditing_policy.clear_session(
        services.policy_state, trace_id, key, by, comment
    )
    if not cleared:
        raise HTTPException(404, detail="no held session of that trace or key (never held, or cleared)")
    at = _queue(request).clock()
    event = {"type": "session_cleared", "sessions": cleared, "by": by, "at": at, "comment": comment}
    read_sources(request).bus.publish((AUDITS_CHANNEL,), orjson.dumps(event))
    return {"cleared": cleared}


@router.get("/audits/{item_id}")
async def audit_item(request: Request, item_id: str) -> dict[str, Any]:
    queue = _queue(request)
    item = await queue.get(item_id)
    if item is None:
        raise HTTPException(404, detail=f"no audit item {item_id!r} (unknown, or expired)")
    return _public(queue, item)


def _text(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise HTTPException(422, detail=f"{name!r} must be a string of at most {limit} characters")
    return value or None


def _edited_arguments(item: AuditItem, body: dict[str, Any]) -> dict[str, Any]:
    """The edited arguments, checked as the released call will carry them (a custom tool takes
    `{"input": "<text>"}`)."""
    arguments = body.get("arguments")
    if not isinstance(arguments, dict):
        raise HTTPException(
            422, detail="an edit needs 'arguments': the tool call's new arguments as a JSON object"
        )
    edited = cast("dict[str, Any]", arguments)
    if item.tool_call.get("kind") == "custom":
        if set(edited) != {"input"} or not isinstance(edited["input"], str):
            raise HTTPException(
                422, detail='this custom tool takes free text: \'arguments\' must be {"input": "..."}'
            )
        return edited
    try:
        canonical_arguments(json.dumps(edited))
    except (MalformedToolCall, ValueError) as exc:
        raise HTTPException(422, detail=f"'arguments' cannot be sent as a tool call: {exc}") from None
    return edited


async def _body(request: Request) -> dict[str, Any]:
    """The JSON object posted (a body that is not one is a 422, like the other refusals)."""
    try:
        return await read_json_object(request, request.app.state.services.settings.max_body_bytes)
    except HTTPException as exc:
        if exc.status_code != 400:
            raise
        raise HTTPException(422, detail=exc.detail) from None


@router.post("/audits/{item_id}/decision", dependencies=Decider)
async def decide(request: Request, item_id: str) -> dict[str, Any]:
    """`{"decision": "approve" | "deny" | "edit", "arguments": {...} (edit), "comment": "...",
    "by": "..."}` → the decided item; 404 unknown item, 409 already decided, 422 a bad body."""
    body = await _body(request)
    decision = body.get("decision")
    if decision not in DECISIONS:
        raise HTTPException(422, detail=f"'decision' must be one of {', '.join(DECISIONS)}, got {decision!r}")
    if decision != "edit" and "arguments" in body:
        raise HTTPException(422, detail="'arguments' is only for decision 'edit'")
    comment = _text(body, "comment", MAX_COMMENT_CHARS)
    by = _text(body, "by", MAX_BY_CHARS) or "admin"
    queue = _queue(request)
    item = await queue.get(item_id)
    if item is None:
        raise HTTPException(404, detail=f"no audit item {item_id!r} (unknown, or expired)")
    arguments = _edited_arguments(item, body) if decision == "edit" else None
    try:
        decided = await queue.decide(
            item_id, cast("Status", DECISIONS[decision]), by=by, comment=comment, arguments=arguments
        )
    except UnknownItem:
        raise HTTPException(404, detail=f"no audit item {item_id!r} (unknown, or expired)") from None
    except AlreadyDecided as exc:
        earlier = exc.item
        raise HTTPException(
            409, detail=f"audit item {item_id!r} is already {earlier.status} (by {earlier.decided_by})"
        ) from None
    return _public(queue, decided)
