"""A recorded call rebuilt from its `debug_logs` records: what the client asked, what the model
answered, and what the deployed policy decided — the input of a replay (`eval.replay`).

The request is the pre-call hook record's payload (`data`, as the client sent it); the answer is
the success hook record's `response`, or, for a stream, the original chunks of its `stream:chunks`
records in order. Both are the records as written: redacted, so a secret the client sent is not
there to replay either. The decisions are the `policy_decision` records, plus a rejection recorded
on a hook's result.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from luthien_proxy.backends.store import DebugLogStore, DebugRecord
from luthien_proxy.dialects.json_values import json_list, json_object
from luthien_proxy.pipeline.derived_events import DECISION_TYPE
from luthien_proxy.wire import (
    CALL_ID_KEY,
    DIALECT_KEY,
    DIALECT_OPENAI_CHAT,
    FAILURE_HOOK,
    HOOK_RECORD_PREFIX,
    PRE_CALL_HOOK,
    RESULT_RECORD_PREFIX,
    STREAM_CHUNKS_TYPE,
    STREAM_HOOK,
    STREAM_SUMMARY_TYPE,
    SUCCESS_HOOK,
    TRACE_ID_KEY,
)

Json = dict[str, Any]

_PRE_CALL = HOOK_RECORD_PREFIX + PRE_CALL_HOOK
_SUCCESS = HOOK_RECORD_PREFIX + SUCCESS_HOOK
_STREAM = HOOK_RECORD_PREFIX + STREAM_HOOK
_FAILURE = HOOK_RECORD_PREFIX + FAILURE_HOOK


@dataclass
class RecordedCall:
    """One call as its records tell it; `response` or `chunks` is what the model answered."""

    call_id: str
    trace_id: str | None = None
    started_at: str | None = None
    #: The client's dialect (a record without one is OpenAI chat's).
    dialect: str = DIALECT_OPENAI_CHAT
    #: What the client sent (the pre-call hook's `data`); None when no pre-call hook was recorded.
    request: Json | None = None
    #: The request the response was policed with (after the deployed policy's `on_request`).
    response_request: Json | None = None
    response: Json | None = None
    #: A stream's original chunks, in order; None when the call was not streamed.
    chunks: list[Json] | None = None
    #: How the recorded stream ended (its summary's `status`), or "failure" for a failed call.
    status: str | None = None
    decisions: list[Json] = field(default_factory=list[Json])

    @property
    def streamed(self) -> bool:
        return self.chunks is not None

    @property
    def answered(self) -> bool:
        """Whether the model's answer is on record (a call refused or failed before it is not)."""
        return self.response is not None or bool(self.chunks)


class SourceError(Exception):
    """The recorded calls cannot be read (no such database, unreachable); the message says why."""


async def read_calls(
    database_url: str,
    *,
    trace_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[RecordedCall]:
    """The calls of one trace, or of a time range, read from the database at `database_url`.

    Read only: no migration runs, and an SQLite file that does not exist is an error, not created.
    """
    missing = _missing_sqlite_file(database_url)
    if missing is not None:
        raise SourceError(f"no database at {missing} (set DATABASE_URL or --database-url)")
    try:
        store = await DebugLogStore.open(database_url, run_migrations=False)
        try:
            if trace_id:
                records = await store.by_trace_id(trace_id)
            else:
                records = await store.by_time_range(since, until)
        finally:
            await store.close()
    except Exception as exc:  # unreachable, no debug_logs table, refused: one line for the CLI
        raise SourceError(f"cannot read the recorded calls: {str(exc).splitlines()[0][:300]}") from None
    return recorded_calls(records)


def _missing_sqlite_file(database_url: str) -> str | None:
    """The path of an SQLite database that does not exist (opening it would create it)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return None if Path(url.database).is_file() else url.database


def recorded_calls(records: Iterable[DebugRecord]) -> list[RecordedCall]:
    """The calls `records` (oldest first) tell of, in the order they started."""
    calls: dict[str, RecordedCall] = {}
    chunks: dict[str, dict[int, Json]] = {}
    for record in records:
        blob = json_object(record.jsonblob) or {}
        call_id = blob.get(CALL_ID_KEY)
        if not isinstance(call_id, str) or not call_id:
            continue
        call = calls.get(call_id)
        if call is None:
            call = calls[call_id] = RecordedCall(call_id, started_at=record.to_json()["time_created"])
        trace_id = blob.get(TRACE_ID_KEY)
        call.trace_id = call.trace_id or (trace_id if isinstance(trace_id, str) else None)
        _apply(call, record.debug_type_identifier, blob, chunks.setdefault(call_id, {}))
    for call_id, by_index in chunks.items():
        if by_index:
            calls[call_id].chunks = [by_index[index] for index in sorted(by_index)]
    return list(calls.values())


def _apply(call: RecordedCall, kind: str, blob: Json, chunks: dict[int, Json]) -> None:
    payload = json_object(blob.get("payload")) or {}
    if kind in (_PRE_CALL, _SUCCESS, _FAILURE, _STREAM):
        # The stream record names its dialect beside its payload; hook payloads inside it.
        dialect = blob.get(DIALECT_KEY) if kind == _STREAM else payload.get(DIALECT_KEY)
        call.dialect = dialect if isinstance(dialect, str) else call.dialect
    if kind == _PRE_CALL:
        call.request = json_object(payload.get("data"))
    elif kind == _SUCCESS:
        call.response_request = json_object(payload.get("data"))
        call.response = json_object(payload.get("response"))
    elif kind == _STREAM:
        call.response_request = payload
        call.chunks = call.chunks or []
    elif kind == STREAM_CHUNKS_TYPE:
        for entry in json_list(blob.get("chunks")) or ():
            entry = json_list(entry) or []
            # `[kind, index, at, chunk]`; a final chunk equal to the original has no body.
            if len(entry) == 4 and entry[0] == "original_chunk" and isinstance(entry[1], int):
                chunk = json_object(entry[3])
                if chunk is not None:
                    chunks[entry[1]] = chunk
    elif kind == _FAILURE:
        call.status = "failure"
    elif kind == STREAM_SUMMARY_TYPE:
        status = blob.get("status")
        call.status = status if isinstance(status, str) else call.status
    elif kind == DECISION_TYPE:
        decision = json_object(blob.get("decision"))
        if decision is not None:
            call.decisions.append(decision)
    elif kind.startswith(RESULT_RECORD_PREFIX):
        decision = json_object(blob.get("decision"))  # a rejection, recorded on the hook's result
        if decision is not None:
            call.decisions.append(decision)
