"""The sending half of a policed stream: upstream chunks to the control plane's socket, a local
copy kept while fail-open may still replay it, and what a socket closed before END means."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from luthien_proxy.doors.litellm.callback.errors import ControlPlaneError, PolicyRejected
from luthien_proxy.doors.litellm.callback.sanitize import model_json
from luthien_proxy.wire import (
    CLOSE_GONE,
    CLOSE_PROTOCOL_ERROR,
    CLOSE_TOO_BIG,
    FRAME_CHUNK,
    FRAME_END,
    FRAME_ERROR,
)

END = object()
_END_MSG = orjson.dumps({"type": FRAME_END}).decode()

Failure = ControlPlaneError | PolicyRejected


def closed_failure(exc: ConnectionClosed) -> Failure:
    """What a stream socket closed before END means, judged by the close frames each side sent."""
    received, sent = exc.rcvd, exc.sent
    if CLOSE_TOO_BIG in (received and received.code, sent and sent.code):
        return PolicyRejected(
            413,
            "Luthien refused the stream: a message exceeds the control plane's size limit "
            "(LUTHIEN_MAX_BODY_BYTES)",
        )
    if received is None or received.code in CLOSE_GONE:
        return ControlPlaneError(
            502, "Luthien stream policy closed the connection before END", unreachable=True
        )
    reason = received.reason or "no reason given"
    if received.code == CLOSE_PROTOCOL_ERROR:
        return PolicyRejected(400, f"Luthien refused the stream: {reason}")
    return ControlPlaneError(
        502, f"Luthien stream policy closed the connection before END ({received.code}: {reason})"
    )


class UpstreamFailure(Exception):
    """Carries an upstream failure through the copy queue."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(str(exc))
        self.exc = exc


class PumpState:
    """Shared between the pump task and the reader: what was sent and whether a local copy is kept."""

    def __init__(self, keep_copy: bool) -> None:
        self.keep_copy = keep_copy
        self.copy: asyncio.Queue[Any] = asyncio.Queue()
        self.stop_sending = False
        self.end_sent_at: float | None = None
        #: When the control plane was last heard from (any frame, keepalives included).
        self.heard_at = 0.0
        self.upstream_error: BaseException | None = None


async def _send(ws: ClientConnection, state: PumpState, message: str) -> None:
    """Send unless sending stopped; a closed socket stops sending (the reader reports the failure)."""
    if state.stop_sending:
        return
    try:
        await ws.send(message)
    except ConnectionClosed:
        state.stop_sending = True


async def pump(ws: ClientConnection, upstream: AsyncIterator[Any], state: PumpState) -> None:
    """Forward upstream chunks to the control plane (and to the local copy while fallback is possible)."""
    try:
        async for chunk in upstream:
            if state.keep_copy:
                state.copy.put_nowait(chunk)
            elif state.stop_sending:
                return
            if not state.stop_sending:
                await _send(
                    ws, state, orjson.dumps({"type": FRAME_CHUNK, "data": model_json(chunk)}).decode()
                )
    except Exception as exc:
        state.upstream_error = exc
        state.copy.put_nowait(UpstreamFailure(exc))
        await _send(
            ws, state, orjson.dumps({"type": FRAME_ERROR, "error": f"upstream failed: {exc}"}).decode()
        )
        await ws.close()
        return
    state.copy.put_nowait(END)
    await _send(ws, state, _END_MSG)
    state.end_sent_at = time.monotonic()
