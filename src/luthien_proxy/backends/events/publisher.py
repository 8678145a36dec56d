"""`ConversationEvents`: stamps events with per-call sequence numbers and publishes them."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import orjson

from luthien_proxy.backends.events.bus import EventBus
from luthien_proxy.backends.events.model import (
    CALLS_CHANNEL,
    ConversationEvent,
    EventType,
    call_channel,
    trace_channel,
)

_TRACKED_CALLS = 50_000


class ConversationEvents:
    """Publishes conversation events on their call and trace channels, numbered per call."""

    def __init__(self, bus: EventBus) -> None:
        self.bus = bus
        self._sequences: OrderedDict[str, int] = OrderedDict()

    def emit(
        self,
        type: EventType,
        call_id: str,
        trace_id: str | None,
        hook: str,
        payload: dict[str, Any],
        timestamp: float | None = None,
    ) -> ConversationEvent | None:
        sequence = self._next_sequence(call_id)
        channels = (call_channel(call_id), trace_channel(trace_id)) if trace_id else (call_channel(call_id),)
        if not self.bus.has_listeners(channels):
            return None  # the sequence still advances, so later events keep the numbers replays give
        event = ConversationEvent(
            type=type,
            call_id=call_id,
            trace_id=trace_id,
            sequence=sequence,
            timestamp=timestamp if timestamp is not None else time.time(),
            hook=hook,
            payload=payload,
        )
        self.bus.publish(channels, event.to_json())
        return event

    def announce(self, kind: str, call: Callable[[], dict[str, Any]]) -> None:
        """Publish a call's start or summary on `CALLS_CHANNEL` (`{"type": kind, "call": call()}`),
        when anyone listens (`call` is not built otherwise)."""
        if self.bus.has_listeners((CALLS_CHANNEL,)):
            self.bus.publish((CALLS_CHANNEL,), orjson.dumps({"type": kind, "call": call()}))

    def _next_sequence(self, call_id: str) -> int:
        # Bounded memory: the oldest calls' counters are forgotten first.
        sequence = self._sequences.pop(call_id, -1) + 1
        self._sequences[call_id] = sequence
        if len(self._sequences) > _TRACKED_CALLS:
            self._sequences.popitem(last=False)
        return sequence
