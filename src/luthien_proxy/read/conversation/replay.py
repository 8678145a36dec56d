"""Rebuilds a call's conversation events from its debug records (the after-the-fact view).

Uses the same `derive_events` rule the pipeline publishes with, numbering events per call in
record order and stamping them with the record's time — so, on one instance, a replayed event has
the same `sequence` and `timestamp` as the live one, and a page can merge the two.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

from luthien_proxy.backends.store import DebugRecord
from luthien_proxy.pipeline.derived_events import derive_events
from luthien_proxy.wire import CALL_ID_KEY, STREAM_CHUNKS_TYPE, TRACE_ID_KEY


def replay_events(records: Iterable[DebugRecord]) -> list[dict[str, Any]]:
    """Events for `records` (oldest first), in the shape live subscribers receive."""
    sequences: defaultdict[str, int] = defaultdict(int)
    originals: dict[tuple[str, int], Any] = {}
    events: list[dict[str, Any]] = []
    for record in records:
        blob = record.jsonblob if isinstance(record.jsonblob, dict) else {}
        call_id = blob.get(CALL_ID_KEY)
        if not call_id:
            continue
        for kind, timestamp, payload in _events_of(record, blob, originals):
            events.append(
                {
                    "type": kind,
                    "call_id": call_id,
                    "trace_id": blob.get(TRACE_ID_KEY),
                    "sequence": sequences[call_id],
                    "timestamp": timestamp,
                    "hook": blob.get("hook", ""),
                    "payload": payload,
                }
            )
            sequences[call_id] += 1
    return events


def _events_of(
    record: DebugRecord, blob: dict[str, Any], originals: dict[tuple[str, int], Any]
) -> Iterator[tuple[str, float, dict[str, Any]]]:
    """A record's events with their times: a chunk batch expands to the chunk events it recorded.

    A final chunk recorded without a body (`[kind, index, at]`) equals the original chunk of the
    same index, recorded before it (`PolicyStream._record_chunk`); `originals` keeps those.
    """
    if record.debug_type_identifier == STREAM_CHUNKS_TYPE:
        call_id = str(blob.get(CALL_ID_KEY))
        for kind, index, timestamp, *body in blob.get("chunks") or ():
            chunk = body[0] if body else originals.get((call_id, index))
            if kind == "original_chunk":
                originals[(call_id, index)] = chunk
            yield kind, timestamp, {"index": index, "chunk": chunk}
        return
    for kind, payload in derive_events(record.debug_type_identifier, blob):
        yield kind, record.time_created.timestamp(), payload
