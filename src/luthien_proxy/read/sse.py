"""Server-Sent Events from bus channels: one `data:` frame per event, heartbeat comments when idle.

Each open stream holds a slot of the instance's `ConnectionSlots` (per client address and in
total) from the request until the stream ends, however it ends. A stream ends, cleanly, when the
server starts to stop (`app.state.stopping`): a watcher must not hold up a graceful stop, and its
EventSource reconnects (to another instance behind a balancer).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator

import orjson
from fastapi import HTTPException, Request
from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from luthien_proxy.backends.events import BusUnavailable, EventBus, Subscription
from luthien_proxy.backends.events.bus import BusNotice
from luthien_proxy.read.sources import ReadSources
from luthien_proxy.web.client_address import client_address
from luthien_proxy.web.rate_limiter import ConnectionSlots, LimitReached

#: What a refused client is told to wait: slots free when other streams close, at no known time.
RETRY_AFTER_SECONDS = 5


async def event_stream(
    request: Request, bus: EventBus, channels: tuple[str, ...], *, heartbeat: float, queue_size: int
) -> StreamingResponse:
    """Take a slot (429 beyond the limits), subscribe now (so a dead bus is a 503, not a broken
    stream) and stream until the client goes."""
    slots: ConnectionSlots = request.app.state.sse_slots
    try:
        slot = slots.acquire(client_address(request))
    except LimitReached as exc:
        raise HTTPException(
            429,
            detail=f"too many open live streams: {exc}; close one, or retry in {RETRY_AFTER_SECONDS}s",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    held = contextlib.AsyncExitStack()
    held.callback(slot.release)
    try:
        subscription = await held.enter_async_context(bus.subscribe(channels, maxsize=queue_size))
    except BusUnavailable as exc:
        await held.aclose()
        raise HTTPException(503, detail=f"live events unavailable: {exc}") from None
    except BaseException:
        await held.aclose()
        raise
    return _HeldStream(held, _frames(subscription, heartbeat, request.app.state.stopping))


async def live_events(request: Request, sources: ReadSources, channels: tuple[str, ...]) -> StreamingResponse:
    """`event_stream` of `channels` with the read side's SSE settings: every live read API's stream."""
    return await event_stream(
        request,
        sources.bus,
        channels,
        heartbeat=sources.sse_heartbeat_seconds,
        queue_size=sources.sse_queue_size,
    )


class _HeldStream(StreamingResponse):
    """A stream that releases what it holds when it ends: finished, failed or the client gone."""

    def __init__(self, held: contextlib.AsyncExitStack, frames: AsyncGenerator[bytes, None]) -> None:
        super().__init__(
            frames,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
        self._frames = frames
        self._held = held

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            try:
                await self._frames.aclose()
            finally:
                await self._held.aclose()


async def _frames(
    subscription: Subscription, heartbeat: float, stopping: asyncio.Event
) -> AsyncGenerator[bytes, None]:
    yield b"retry: 2000\n: connected\n\n"
    stop = asyncio.ensure_future(stopping.wait())
    try:
        while True:
            upcoming = asyncio.ensure_future(subscription.next_item(timeout=heartbeat))
            await asyncio.wait((upcoming, stop), return_when=asyncio.FIRST_COMPLETED)
            if stop.done():
                upcoming.cancel()
                return
            yield _frame(upcoming.result())
    finally:
        stop.cancel()


def _frame(item: bytes | BusNotice | None) -> bytes:
    """One bus item as SSE: a heartbeat comment when there was none, a named event for a notice."""
    if item is None:
        return b": heartbeat\n\n"
    if isinstance(item, BusNotice):
        return f"event: {item.kind}\n".encode() + b"data: " + orjson.dumps({"detail": item.detail}) + b"\n\n"
    return b"data: " + item + b"\n\n"
