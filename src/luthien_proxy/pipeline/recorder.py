"""`CallRecorder`: the one place the pipeline writes debug records and publishes events.

Both are fire-and-forget (queued), so recording never adds a database or Redis round trip to a
request; every record carries the call and trace ids at the top level, where the indexes look.
"""

from __future__ import annotations

from typing import Any

from luthien_proxy.events import ConversationEvents
from luthien_proxy.events.model import EventType
from luthien_proxy.pipeline.identity import CallIdentity
from luthien_proxy.storage import DebugLogWriter


class CallRecorder:
    """Records debug rows and conversation events for calls."""

    def __init__(self, writer: DebugLogWriter, events: ConversationEvents) -> None:
        self.writer = writer
        self.events = events

    def record(self, debug_type: str, ids: CallIdentity, body: dict[str, Any]) -> None:
        self.writer.record(
            debug_type, {"litellm_call_id": ids.call_id, "litellm_trace_id": ids.trace_id, **body}
        )

    def event(self, type: EventType, ids: CallIdentity, hook: str, payload: dict[str, Any]) -> None:
        # A payload without a call id has no channel anyone could subscribe to.
        if ids.call_id:
            self.events.emit(type, ids.call_id, ids.trace_id, hook, payload)
