"""The streams one proxy link has open: bounded in number and time, each ended on its own.

A relayed stream is recorded as `/stream/{id}` records it. The table is bounded: at most
`LUTHIEN_LINK_MAX_STREAMS` open at once (a stream past it is recorded as an error and not followed),
and the pipeline ends a stream that sends no chunk for `LUTHIEN_STREAM_IDLE_TIMEOUT_SECONDS`, or
outlives `LUTHIEN_STREAM_TOTAL_TIMEOUT_SECONDS`, with status `timeout` (it then leaves the table).
A bad item of one stream ends that stream only (status `error`, with the reason); the link and its
other streams go on. Items for a stream that is not open (ended, refused, or whose start was lost
with a dropped batch) are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import weakref
from collections.abc import AsyncIterator, Callable
from typing import Any

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_chat import OPENAI_CHAT
from luthien_proxy.dialects.registry import UnknownDialect, dialect_named
from luthien_proxy.doors.litellm.door import LiteLLMDoor
from luthien_proxy.pipeline.stream import StreamAborted
from luthien_proxy.wire import DIALECT_KEY, LINK_STREAM_CHUNK, LINK_STREAM_END, LINK_STREAM_START

logger = logging.getLogger(__name__)

LINK_LOST = "the proxy link closed before the stream ended"
_STATUS = re.compile(r"^[a-z_]{1,32}$")
#: Every link's table, for introspection (tests check that ended streams leave it).
TABLES: weakref.WeakSet[LinkStreams] = weakref.WeakSet()


class LinkViolation(Exception):
    """The callback broke the link protocol in a way no single stream explains; closes the link."""


class ReportedEnd(StreamAborted):
    """The callback reported that the stream it relayed ended other than successfully."""

    def __init__(self, status: str, reason: str | None) -> None:
        super().__init__(reason or "")
        self.status = status
        self.reason = reason or ""


async def _discard(_encoded: bytes) -> None:
    return None


class RelayedStream:
    """A stream the callback passed through unchanged, recorded as `/stream/{id}` would record it.

    `ended` is called once the pipeline knows how the stream ended (a timeout included), before
    it is recorded, so the table never holds a stream that is over.
    """

    def __init__(
        self,
        door: LiteLLMDoor,
        stream_id: str,
        request: dict[str, Any],
        ended: Callable[[], None],
        dialect: Dialect = OPENAI_CHAT,
    ) -> None:
        self.inbox: asyncio.Queue[dict[str, Any] | tuple[str, str | None]] = asyncio.Queue()
        self._ended = ended
        self.task = asyncio.create_task(
            self._record(door, stream_id, request, dialect), name=f"luthien-relayed-stream-{stream_id[:40]}"
        )

    def push(self, chunk: dict[str, Any]) -> None:
        self.inbox.put_nowait(chunk)

    def end(self, status: str, error: str | None) -> None:
        self.inbox.put_nowait((status, error))

    async def _chunks(self) -> AsyncIterator[dict[str, Any]]:
        while isinstance(item := await self.inbox.get(), dict):
            yield item
        status, error = item
        if status != "success":
            raise ReportedEnd(status, error)

    async def _record(
        self, door: LiteLLMDoor, stream_id: str, request: dict[str, Any], dialect: Dialect
    ) -> None:
        async with door.pipeline.stream(stream_id, request, source="the proxy", dialect=dialect) as call:
            await call.run(self._chunks(), _discard)
            self._ended()


class LinkStreams:
    """One link's open streams, keyed by the id the callback gives them."""

    def __init__(self, door: LiteLLMDoor) -> None:
        self.door = door
        self.max_streams = door.link_max_streams
        self.open: dict[str, RelayedStream] = {}
        self._finishing: set[asyncio.Task[None]] = set()
        self.ignored = 0
        TABLES.add(self)

    def handle(self, kind: Any, stream_id: str, item: dict[str, Any]) -> None:
        """Apply one stream item; raises `LinkViolation` only for an item no open stream owns."""
        stream = self.open.get(stream_id)
        if kind == LINK_STREAM_START:
            self._start(stream_id, stream, item.get("request"), item.get(DIALECT_KEY))
        elif stream is None:
            if kind not in (LINK_STREAM_CHUNK, LINK_STREAM_END):
                raise LinkViolation(f"bad stream item {str(kind)[:20]!r} for stream {stream_id[:40]!r}")
            self.ignored += 1
        elif kind == LINK_STREAM_CHUNK:
            chunk = item.get("chunk")
            if isinstance(chunk, dict):
                stream.push(chunk)
            else:
                self._fail(stream_id, "malformed stream item: 'chunk' must be an object")
        elif kind == LINK_STREAM_END:
            status, error = item.get("status", "success"), item.get("error")
            if (
                isinstance(status, str)
                and _STATUS.match(status)
                and (error is None or isinstance(error, str))
            ):
                self._end(stream_id, status, error)
            else:
                self._fail(stream_id, "malformed stream item: 'end' needs a status word and a string error")
        else:
            self._fail(stream_id, f"malformed stream item: unknown kind {str(kind)[:20]!r}")

    def _start(self, stream_id: str, live: RelayedStream | None, request: Any, dialect_name: Any) -> None:
        try:
            dialect = dialect_named(dialect_name)
        except UnknownDialect as exc:
            self._refuse(
                stream_id, request if isinstance(request, dict) else {}, f"malformed stream item: {exc}"
            )
            return
        if live is not None:
            self._fail(stream_id, "the stream was started again before it ended")
        elif not isinstance(request, dict):
            self._refuse(stream_id, {}, "malformed stream item: 'start' needs an object 'request'")
        elif len(self.open) >= self.max_streams:
            self._refuse(
                stream_id,
                request,
                f"too many open streams on this proxy link (LUTHIEN_LINK_MAX_STREAMS={self.max_streams})",
            )
        else:
            stream = RelayedStream(
                self.door, stream_id, request, lambda: self._forget(stream_id, stream), dialect
            )
            self.open[stream_id] = stream
            self._track(stream)

    def _fail(self, stream_id: str, reason: str) -> None:
        logger.warning("proxy link: stream %r ended: %s", stream_id[:40], reason)
        self._end(stream_id, "error", reason)

    def _refuse(self, stream_id: str, request: dict[str, Any], reason: str) -> None:
        """Record a stream that is not followed as an error, without taking a place in the table."""
        logger.warning("proxy link: stream %r not followed: %s", stream_id[:40], reason)
        refused = RelayedStream(self.door, stream_id, request, lambda: None)
        refused.end("error", reason)
        self._track(refused)

    def _end(self, stream_id: str, status: str, error: str | None) -> None:
        self.open.pop(stream_id).end(status, error)

    def _forget(self, stream_id: str, stream: RelayedStream) -> None:
        if self.open.get(stream_id) is stream:
            del self.open[stream_id]

    def _track(self, stream: RelayedStream) -> None:
        # Kept until recorded, so `close` can wait for it; nothing else holds the stream after that.
        self._finishing.add(stream.task)
        stream.task.add_done_callback(self._finishing.discard)

    async def close(self) -> None:
        """End the streams the callback never finished, and wait until every stream is recorded."""
        for stream_id in list(self.open):
            self._end(stream_id, "disconnected", LINK_LOST)
        for task in list(self._finishing):
            with contextlib.suppress(Exception):
                await task
