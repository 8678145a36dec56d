"""Read APIs over recorded calls — recent calls and traces, hook traces, conversation snapshots —
and the live SSE streams of a call or a trace."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import StreamingResponse

from luthien_proxy.backends.events import call_channel, trace_channel
from luthien_proxy.backends.store import DebugRecord
from luthien_proxy.read.conversation import call_view, replay_events
from luthien_proxy.read.sources import ReadSources, read_sources
from luthien_proxy.read.sse import live_events
from luthien_proxy.wire import CALL_ID_KEY, HOOKS_PATH, TRACE_ID_KEY

router = APIRouter(prefix=HOOKS_PATH, tags=["conversations"])

Sources = Annotated[ReadSources, Depends(read_sources)]
CallId = Annotated[str, Query(min_length=1, max_length=256, description=CALL_ID_KEY)]
TraceId = Annotated[str, Query(min_length=1, max_length=256, description=TRACE_ID_KEY)]
Limit = Annotated[int, Query(ge=1, le=500)]


def _found(records: list[DebugRecord], key: str, value: str) -> list[DebugRecord]:
    """`records`, or a 404 saying which id has none."""
    if not records:
        raise HTTPException(404, detail=f"no records for {key} {value!r}")
    return records


@router.get("/recent_call_ids")
async def recent_call_ids(sources: Sources, limit: Limit = 50) -> dict[str, Any]:
    """Recent calls, newest activity first, with record counts and whether they completed."""
    return {"calls": await sources.store.recent_calls(limit)}


@router.get("/recent_traces")
async def recent_traces(sources: Sources, limit: Limit = 50) -> dict[str, Any]:
    """Recent traces, newest activity first, with call and record counts."""
    return {"traces": await sources.store.recent_traces(limit)}


@router.get("/trace_by_call_id")
async def trace_by_call_id(call_id: CallId, sources: Sources) -> dict[str, Any]:
    """Every hook record of one call, oldest first, with its offset from the first."""
    records = _found(await sources.store.by_call_id(call_id), "call_id", call_id)
    start = records[0].time_created
    entries = [
        {
            **record.to_json(),
            "hook": record.jsonblob.get("hook"),
            "offset_ms": round((record.time_created - start).total_seconds() * 1000, 3),
        }
        for record in records
    ]
    return {"call_id": call_id, "trace_id": records[0].jsonblob.get(TRACE_ID_KEY), "entries": entries}


@router.get("/conversation")
async def conversation(call_id: CallId, sources: Sources) -> dict[str, Any]:
    """A call's events (as they were published) and its folded view."""
    events = replay_events(_found(await sources.store.by_call_id(call_id), "call_id", call_id))
    view = call_view(call_id, events)
    return {"call_id": call_id, "trace_id": view["trace_id"], "events": events, "call": view}


@router.get("/conversation/by_trace")
async def conversation_by_trace(trace_id: TraceId, sources: Sources) -> dict[str, Any]:
    """Every call of a trace, in order of first appearance, with all their events."""
    events = replay_events(_found(await sources.store.by_trace_id(trace_id), "trace_id", trace_id))
    call_ids = list(dict.fromkeys(event["call_id"] for event in events))
    calls = [call_view(cid, [e for e in events if e["call_id"] == cid]) for cid in call_ids]
    return {"trace_id": trace_id, "calls": calls, "events": events}


@router.get("/conversation/stream", response_class=StreamingResponse)
async def conversation_stream(call_id: CallId, request: Request, sources: Sources) -> StreamingResponse:
    """Live events of one call as Server-Sent Events (`data:` JSON frames, `: heartbeat` when idle)."""
    return await live_events(request, sources, (call_channel(call_id),))


@router.get("/conversation/stream_by_trace", response_class=StreamingResponse)
async def conversation_stream_by_trace(
    trace_id: TraceId, request: Request, sources: Sources
) -> StreamingResponse:
    """Live events of every call in a trace as Server-Sent Events."""
    return await live_events(request, sources, (trace_channel(trace_id),))
