"""Server-Sent Events from bus channels: one `data:` frame per event, heartbeat comments when idle."""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator

import orjson
from fastapi import HTTPException, Request
from starlette.responses import StreamingResponse

from luthien_proxy.control_plane.rate_limiter import TokenBucketLimiter
from luthien_proxy.events import BusUnavailable, EventBus, Subscription
from luthien_proxy.events.bus import BusNotice


def check_rate(request: Request) -> None:
    """429 when this client has opened too many streams on this path lately."""
    limiter: TokenBucketLimiter = request.app.state.sse_limiter
    host = request.client.host if request.client else "unknown"
    wait = limiter.acquire(f"{host} {request.url.path}")
    if wait:
        retry = math.ceil(wait)
        raise HTTPException(
            429,
            detail=f"too many live-stream requests from {host} to {request.url.path}; retry in {retry}s",
            headers={"Retry-After": str(retry)},
        )


async def event_stream(
    bus: EventBus, channels: tuple[str, ...], *, heartbeat: float, queue_size: int
) -> StreamingResponse:
    """Subscribe now (so a dead bus is a 503, not a broken stream) and stream until the client goes."""
    stack = contextlib.AsyncExitStack()
    try:
        subscription = await stack.enter_async_context(bus.subscribe(channels, maxsize=queue_size))
    except BusUnavailable as exc:
        await stack.aclose()
        raise HTTPException(503, detail=f"live events unavailable: {exc}") from None
    return StreamingResponse(
        _frames(subscription, stack, heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _frames(
    subscription: Subscription, stack: contextlib.AsyncExitStack, heartbeat: float
) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 2000\n: connected\n\n"
        while True:
            item = await subscription.next_item(timeout=heartbeat)
            if item is None:
                yield b": heartbeat\n\n"
            elif isinstance(item, BusNotice):
                yield (
                    f"event: {item.kind}\n".encode()
                    + b"data: "
                    + orjson.dumps({"detail": item.detail})
                    + b"\n\n"
                )
            else:
                yield b"data: " + item + b"\n\n"
    finally:
        await stack.aclose()
