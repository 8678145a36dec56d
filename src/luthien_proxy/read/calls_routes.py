"""The call index's API: finished calls' summaries (newest first, paged, searched by text, model,
key, action, outcome, trace and time), the calls still running, the outcome vocabulary, a search or
a trace exported as JSON Lines, and every call's start and end live as Server-Sent Events."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.responses import StreamingResponse

from luthien_proxy.backends.events import CALLS_CHANNEL
from luthien_proxy.backends.store.call_index import BadSearch, CallSearch
from luthien_proxy.backends.store.record import DebugRecord
from luthien_proxy.pipeline.call_summary import OUTCOMES, CallTally
from luthien_proxy.read.conversation import replay_events
from luthien_proxy.read.sources import ReadSources, read_sources
from luthien_proxy.read.sse import live_events
from luthien_proxy.redaction import redact

router = APIRouter(prefix="/api", tags=["calls"])

Sources = Annotated[ReadSources, Depends(read_sources)]
Filter = Annotated[str | None, Query(min_length=1, max_length=256)]
#: A call with no end recorded and no record for this long is not shown as running: its end was lost.
RUNNING_FOR_AT_MOST_S = 15 * 60
RUNNING_SHOWN = 20
#: Row ids are 64-bit: a larger cursor is a 422, not an overflow in the database driver.
MAX_ROW_ID = 2**63 - 1
#: Records read per query while an export streams.
EXPORT_PAGE = 500
JSONL_MEDIA_TYPE = "application/x-ndjson"
ExportFormat = Annotated[Literal["jsonl"], Query(description="jsonl: one JSON object a line")]


@router.get("/outcomes")
async def outcomes() -> dict[str, Any]:
    """Every outcome a call can have, with the words the UI shows for it."""
    return {"outcomes": OUTCOMES}


def call_search(
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=256,
            description="words that must each occur (any case) in the request or response preview, "
            "the decision in words, a tool name or the error",
        ),
    ] = None,
    model: Filter = None,
    key: Annotated[str | None, Query(min_length=1, max_length=256, description="the key alias")] = None,
    action: Annotated[
        str | None, Query(description="a decision's action: block, edit, audit_denied, judge, ...")
    ] = None,
    outcome: Annotated[str | None, Query(description="one of /api/outcomes")] = None,
    trace_id: Filter = None,
    since: Annotated[
        datetime | None, Query(description="started at or after (ISO 8601; UTC if no zone)")
    ] = None,
    until: Annotated[datetime | None, Query(description="started before (ISO 8601; UTC if no zone)")] = None,
) -> CallSearch:
    """The history search the query parameters ask for; 422 saying what is wrong with them."""
    if outcome is not None and outcome not in OUTCOMES:
        raise HTTPException(422, detail=f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
    try:
        return CallSearch.of(
            q=q,
            model=model,
            key=key,
            action=action,
            outcome=outcome,
            trace_id=trace_id,
            since=since,
            until=until,
        )
    except BadSearch as exc:
        raise HTTPException(422, detail=str(exc)) from exc


Search = Annotated[CallSearch, Depends(call_search)]


@router.get("/calls")
async def calls(
    sources: Sources,
    search: Search,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[
        int | None, Query(ge=1, le=MAX_ROW_ID, description="the `next` of the previous page")
    ] = None,
) -> dict[str, Any]:
    """Finished calls matching the search, newest first, `limit` a page; `next` pages on. The first
    page of an unfiltered (or trace-filtered) listing also has `running`: calls that have started
    and not ended yet."""
    records = await sources.store.call_summaries(limit, before=before, search=search)
    page = [_listed(r) for r in records]
    found: dict[str, Any] = {"calls": page, "next": page[-1]["id"] if len(page) == limit else None}
    unfiltered = not replace(search, outcome=None, trace_id=None).narrowed
    if before is None and unfiltered and search.outcome in (None, "in_progress"):
        found["running"] = await _running(sources, search.trace_id)
    return found


@router.get("/calls/export", response_class=StreamingResponse)
async def export_calls(
    sources: Sources,
    search: Search,
    format: ExportFormat = "jsonl",
    limit: Annotated[int | None, Query(ge=1, le=10_000_000, description="at most this many calls")] = None,
) -> StreamingResponse:
    """The calls a search finds (the same parameters as /api/calls), newest first, as JSON Lines:
    one call summary a line, streamed page by page, however many."""

    async def lines() -> AsyncIterator[bytes]:
        before, left = None, limit
        while left is None or left > 0:
            size = EXPORT_PAGE if left is None else min(EXPORT_PAGE, left)
            records = await sources.store.call_summaries(size, before=before, search=search)
            yield b"".join(_line(_listed(r)) for r in records)
            if len(records) < size:
                return
            before, left = records[-1].id, None if left is None else left - size

    return _jsonl(lines(), "calls.jsonl")


@router.get("/traces/export", response_class=StreamingResponse)
async def export_trace(
    sources: Sources,
    trace_id: Annotated[str, Query(min_length=1, max_length=256)],
    format: ExportFormat = "jsonl",
) -> StreamingResponse:
    """Every record of one trace (its calls' hooks, chunks, decisions and summaries) in the order
    written, as JSON Lines: one `debug_logs` record a line, streamed; 404 for a trace with none."""
    if "\x00" in trace_id:  # Postgres refuses NUL in text
        raise HTTPException(422, detail="trace_id contains a NUL character")
    first = await sources.store.trace_records(trace_id, limit=EXPORT_PAGE)
    if not first:
        raise HTTPException(404, detail=f"no records for trace {trace_id!r}")

    async def lines() -> AsyncIterator[bytes]:
        records = first
        while records:
            yield b"".join(_line({**r.to_json(), "jsonblob": _redacted(r.jsonblob)}) for r in records)
            if len(records) < EXPORT_PAGE:
                return
            assert records[-1].id is not None
            records = await sources.store.trace_records(trace_id, after=records[-1].id, limit=EXPORT_PAGE)

    return _jsonl(lines(), "trace.jsonl")


@router.get("/calls/stream", response_class=StreamingResponse)
async def calls_stream(request: Request, sources: Sources) -> StreamingResponse:
    """Every call's start (`call_started`) and summary (`call_summary`) as Server-Sent Events:
    `data: {"type": ..., "call": {...}}` frames, `: heartbeat` comments when idle."""
    return await live_events(request, sources, (CALLS_CHANNEL,))


def _summary_of(blob: Any) -> dict[str, Any]:
    return {k: v for k, v in blob.items() if not k.startswith("litellm_")} if isinstance(blob, dict) else {}


def _listed(record: DebugRecord) -> dict[str, Any]:
    """A summary record as `/api/calls` lists it: the summary and its record id (the cursor)."""
    return {**_summary_of(record.jsonblob), "id": record.id}


def _redacted(blob: Any) -> Any:
    # Records are redacted when written; an export checks again, as anything leaving the store.
    return redact(blob) if isinstance(blob, dict) else blob


def _line(value: dict[str, Any]) -> bytes:
    return orjson.dumps(_redacted(value)) + b"\n"


def _jsonl(lines: AsyncIterator[bytes], filename: str) -> StreamingResponse:
    headers = {"content-disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(lines, media_type=JSONL_MEDIA_TYPE, headers=headers)


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
