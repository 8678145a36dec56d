"""Conversation events and the channels they travel on."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import orjson

EventType = Literal[
    "request_started",
    "original_chunk",
    "final_chunk",
    "request_completed",
    "policy_decision",
]


#: Every call's start and summary (`pipeline.call_summary`), for views that list calls live.
CALLS_CHANNEL = "luthien:calls"


def call_channel(call_id: str) -> str:
    return f"luthien:conversation:{call_id}"


def trace_channel(trace_id: str) -> str:
    return f"luthien:conversation-trace:{trace_id}"


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """One step of a call as watchers see it; `sequence` orders the events of one call."""

    type: EventType
    call_id: str
    trace_id: str | None
    sequence: int
    timestamp: float
    hook: str
    payload: dict[str, Any]

    def channels(self) -> tuple[str, ...]:
        if self.trace_id:
            return (call_channel(self.call_id), trace_channel(self.trace_id))
        return (call_channel(self.call_id),)

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "type": self.type,
                "call_id": self.call_id,
                "trace_id": self.trace_id,
                "sequence": self.sequence,
                "timestamp": self.timestamp,
                "hook": self.hook,
                "payload": self.payload,
            }
        )
