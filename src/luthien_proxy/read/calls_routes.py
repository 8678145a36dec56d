"""The call index's API: finished calls' summaries (newest first, paged, filtered), the calls still
running, the outcome vocabulary, and every call's start and end live as Server-Sent Events."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import StreamingResponse

from luthien_proxy.backends.events import CALLS_CHANNEL
from luthien_proxy.pipeline.call_summary import OUTCOMES, CallTally
from luthien_proxy.read.conversation import replay_events
from luthien_proxy.read.sources import ReadSources, read_sources
from luthien_proxy.read.sse import live_events

router = APIRouter(prefix="/api", tags=["calls"])

Sources = Annotated[ReadSources, Depends(read_sources)]
Filter = Annotated[str | None, Query(min_length=1, max_length=256)]
#: A call with no end recorded and no record for this long is not shown as running: its end was lost.
RUNNING_FOR_AT_MOST_S = 15 * 60
RUNNING_SHOWN = 20
#: Row ids are 64-bit: a larger cursor is a 422, not an overflow in the database driver.
MAX_ROW_ID = 2**63 - 1


@router.get("/outcomes")
async def outcomes() -> dict[str, Any]:
    """Every outcome a call can have, with the words the UI shows for it."""
    return {"outcomes": OUTCOMES}


@router.get("/calls")
async def calls(
    sources: Sources,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="the `next` of the previous page")
    ] = None,
    outcome: Annotated[str | None, Query(description="one of /api/outcomes")] = None,
    model: Filter = None,
    trace_id: Filter = None,
) -> dict[str, Any]:
    """Finished calls, newest first, `limit` a page; `next` pages on. The first page of an unfiltered
    (or trace-filtered) listing also has `running`: calls that have started and not ended yet."""
    if outcome is not None and outcome not in OUTCOMES:
        raise HTTPException(422, detail=f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    records = await sources.store.call_summaries(
        limit, before=before, outcome=outcome, model=model, trace_id=trace_id
    )
    page = [{**_summary_of(r.jsonblob), "id": r.id} for r in records]
    found: dict[str, Any] = {"calls": page, "next": page[-1]["id"] if len(page) == limit else None}
    if before is None and outcome in (None, "in_progress") and model is None:
        found["running"] = await _running(sources, trace_id)
    return found


@router.get("/calls/stream", response_class=StreamingResponse)
async def calls_stream(request: Request, sources: Sources) -> StreamingResponse:
    """Every call's start (`call_started`) and summary (`call_summary`) as Server-Sent Events:
    `data: {"type": ..., "call": {...}}` frames, `: heartbeat` comments when idle."""
    return await live_events(request, sources, (CALLS_CHANNEL,))


def _summary_of(blob: Any) -> dict[str, Any]:
    return {k: v for k, v in blob.items() if not k.startswith("litellm_")} if isinstance(blob, dict) else {}


async def _running(sources: ReadSources, trace_id: str | None) -> list[dict[str, Any]]:
    """Recent calls with no end recorded yet, folded from their records as the pipeline folds them."""
    recent = await sources.store.recent_calls(RUNNING_SHOWN * 5)
    cutoff = time.time() - RUNNING_FOR_AT_MOST_S
    running = []
    for call in recent:
        if call["status"] != "in_progress" or (trace_id and call["trace_id"] != trace_id):
            continue
        tally = CallTally(call["call_id"], call["trace_id"])
        for event in replay_events(await sources.store.by_call_id(call["call_id"])):
            tally.add(event["type"], event["payload"], event["timestamp"])
        if tally.status is None and (tally.started_at or 0) >= cutoff:
            running.append(tally.summary())
        if len(running) >= RUNNING_SHOWN:
            break
    return running
