"""`CallRecorder`: the one place the pipeline writes debug records and publishes events.

Each record is queued for the database and the events it stands for (`derive_events`) are
published with the record's own timestamp. Both are fire-and-forget, so recording never adds a
database or Redis round trip to a request. Every record carries the call and trace ids at the
top level, where the indexes look.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from luthien_proxy.backends.events import ConversationEvents
from luthien_proxy.backends.events.model import EventType
from luthien_proxy.backends.store import DebugLogWriter
from luthien_proxy.pipeline.call_summary import CallTally
from luthien_proxy.pipeline.derived_events import DECISION_TYPE, derive_events
from luthien_proxy.pipeline.identity import CallIdentity
from luthien_proxy.redaction import redact
from luthien_proxy.wire import CALL_ID_KEY, CALL_SUMMARY_TYPE, TRACE_ID_KEY

logger = logging.getLogger(__name__)

#: What is told of every call that ended, with its tally, after its summary is recorded.
CallObserver = Callable[[CallTally], None]

#: Calls whose tally is kept until they end; beyond it the oldest are forgotten (a call whose end
#: never comes, say a LiteLLM worker that died, must not hold memory for ever).
TRACKED_CALLS = 10_000


class CallRecorder:
    """Records debug rows for calls and publishes the conversation events they imply."""

    def __init__(self, writer: DebugLogWriter, events: ConversationEvents) -> None:
        self.writer = writer
        self.events = events
        self._tallies: OrderedDict[str, CallTally] = OrderedDict()
        #: Calls already summarized: a later completion (LiteLLM's failure hook after a rejection)
        #: does not summarize them again.
        self._summarized: OrderedDict[str, None] = OrderedDict()
        #: Told of each call once it ended, off the request path (the metrics count calls here).
        self.observers: list[CallObserver] = []

    def record(self, debug_type: str, ids: CallIdentity, body: dict[str, Any]) -> None:
        now = time.time()
        self.writer.record(
            debug_type,
            {CALL_ID_KEY: ids.call_id, TRACE_ID_KEY: ids.trace_id, **body},
            at=datetime.fromtimestamp(now, UTC),
        )
        # A call without an id has no channel anyone could subscribe to.
        if ids.call_id:
            hook = str(body.get("hook", ""))
            for kind, payload in derive_events(debug_type, body):
                self.events.emit(kind, ids.call_id, ids.trace_id, hook, payload, timestamp=now)
                self._tally(kind, ids, payload, now)

    def _tally(self, kind: str, ids: CallIdentity, payload: dict[str, Any], now: float) -> None:
        """Fold the event into the call's tally; record and announce its summary when it ends."""
        call_id = str(ids.call_id)
        if call_id in self._summarized:
            if kind != "request_started":
                return
            # A new call under a summarized call's id (LiteLLM takes the client's x-litellm-call-id):
            # it gets its own summary, or a blocked call could hide behind one that passed.
            del self._summarized[call_id]
        tally = self._tallies.get(call_id)
        if tally is None:
            tally = self._tallies[call_id] = CallTally(call_id, ids.trace_id)
            if len(self._tallies) > TRACKED_CALLS:
                self._tallies.popitem(last=False)
        tally.add(kind, payload, now)
        if kind == "request_started":
            self.events.announce("call_started", tally.summary)
        elif kind == "request_completed":
            del self._tallies[call_id]
            self._summarized[call_id] = None
            if len(self._summarized) > TRACKED_CALLS:
                self._summarized.popitem(last=False)
            try:
                # After the door has written its answer: the summary is for watchers, not the client.
                asyncio.get_running_loop().call_soon(self._summarize, tally, now)
            except RuntimeError:  # no loop (a tool recording synchronously)
                self._summarize(tally, now)

    def _summarize(self, tally: CallTally, now: float) -> None:
        summary = tally.summary()
        self.writer.record(
            CALL_SUMMARY_TYPE,
            {CALL_ID_KEY: tally.call_id, TRACE_ID_KEY: tally.trace_id, **summary},
            at=datetime.fromtimestamp(now, UTC),
        )
        self.events.announce("call_summary", lambda: summary)
        for observe in self.observers:
            try:
                observe(tally)
            except Exception:  # an observer's bug must not stop the next call's summary
                logger.exception("call observer %r failed on call %s", observe, tally.call_id)

    def publish(self, kind: EventType, ids: CallIdentity, hook: str, payload: dict[str, Any]) -> float:
        """Publish an event that a later record will stand for (stream chunks); returns its time."""
        now = time.time()
        if ids.call_id:
            self.events.emit(kind, ids.call_id, ids.trace_id, hook, payload, timestamp=now)
        return now

    def decision_sink(self, ids: CallIdentity, hook: str) -> Callable[[dict[str, Any]], None]:
        """What a policy's `ctx.record_decision` calls for this call and hook."""

        def record_decision(decision: dict[str, Any]) -> None:
            # A decision may quote what it judged (a tool call's arguments): redacted like the payload.
            self.record(DECISION_TYPE, ids, {"hook": hook, "decision": redact(decision)})

        return record_decision
