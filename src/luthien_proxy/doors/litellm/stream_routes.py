"""WebSocket `/stream/{stream_id}`: a streamed response policed chunk by chunk, full duplex.

Protocol (documented in docs/streaming-protocol.md). The proxy sends `START{data}`, then `CHUNK{data}`
per upstream chunk, then `END` (or `ERROR{error}`). The control plane sends `CHUNK{data}` whenever
the policy yields, then `END` — or `REJECT{error, status_code}` when the policy refuses the stream,
or `ERROR{error}` when the policy fails or a timeout expires; and `KEEPALIVE` whenever it sent
nothing for a while (a judge at work, a call held for audit), so the proxy tells a quiet policy
from a dead control plane.
A frame that is not JSON, an unknown type, or CHUNK before START closes the socket with 1002.
This module is the door only: the pipeline runs, times and records the stream (`Pipeline.stream`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import orjson
from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect, WebSocketState

from luthien_proxy.dialects.registry import UnknownDialect, dialect_named
from luthien_proxy.doors.litellm.door import LiteLLMDoor, proxy_allowed
from luthien_proxy.pipeline.pipeline import StreamEnd
from luthien_proxy.pipeline.stream import ClientGone, PeerBrokeProtocol, StreamAborted, UpstreamFailed
from luthien_proxy.web.request_body import MAX_JSON_DEPTH, nested_deeper_than
from luthien_proxy.wire import (
    CLOSE_INTERNAL_ERROR,
    CLOSE_NORMAL,
    CLOSE_POLICY_VIOLATION,
    CLOSE_PROTOCOL_ERROR,
    DIALECT_KEY,
    FRAME_CHUNK,
    FRAME_END,
    FRAME_ERROR,
    FRAME_KEEPALIVE,
    FRAME_REJECT,
    FRAME_START,
    PROXY_FRAMES,
    PROXY_TOKEN_HEADER,
    STREAM_PATH,
)

logger = logging.getLogger(__name__)
router = APIRouter(tags=["streaming"])

_INBOX_SIZE = 256
_DRAIN_SECONDS = 2.0
_END = object()
#: A policed chunk's frame is written around its already-encoded JSON, never re-encoded.
_CHUNK_HEAD = b'{"type":"' + FRAME_CHUNK.encode() + b'","data":'
_END_FRAME = orjson.dumps({"type": FRAME_END})
_KEEPALIVE_FRAME = orjson.dumps({"type": FRAME_KEEPALIVE})
_PROXY_GONE = "the proxy disconnected before the stream ended"


def _parse(message: MutableMapping[str, Any]) -> dict[str, Any]:
    """One received ASGI message as a protocol frame; raises on disconnect or a malformed frame."""
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", CLOSE_NORMAL))
    raw = message.get("text") if message.get("text") is not None else message.get("bytes")
    try:
        frame = orjson.loads(raw or b"")
    except orjson.JSONDecodeError:
        raise PeerBrokeProtocol("frame is not valid JSON") from None
    if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
        raise PeerBrokeProtocol("frame must be a JSON object with a string 'type'")
    if frame["type"] not in PROXY_FRAMES:
        raise PeerBrokeProtocol(f"unknown frame type {frame['type'][:40]!r}")
    if frame["type"] in (FRAME_START, FRAME_CHUNK) and not isinstance(frame.get("data"), dict):
        raise PeerBrokeProtocol(f"{frame['type']} frame needs a JSON object in 'data'")
    if nested_deeper_than(frame):
        raise PeerBrokeProtocol(f"frame nests deeper than {MAX_JSON_DEPTH} levels")
    return frame


async def _receive_frames(websocket: WebSocket, inbox: asyncio.Queue[Any]) -> None:
    """Feed CHUNK data into `inbox` until END; how the input ended otherwise goes in as an exception."""
    try:
        while True:
            frame = _parse(await websocket.receive())
            kind = frame["type"]
            if kind == FRAME_CHUNK:
                await inbox.put(frame["data"])
            elif kind == FRAME_END:
                await inbox.put(_END)
                return
            elif kind == FRAME_ERROR:
                await inbox.put(UpstreamFailed(f"upstream stream failed: {str(frame.get('error'))[:500]}"))
                return
            else:
                raise PeerBrokeProtocol("START sent twice")
    except StreamAborted as exc:
        await inbox.put(exc)
    except WebSocketDisconnect:
        await inbox.put(ClientGone(_PROXY_GONE))


async def _drain(inbox: asyncio.Queue[Any]) -> AsyncIterator[dict[str, Any]]:
    while (item := await inbox.get()) is not _END:
        if isinstance(item, StreamAborted):
            raise item
        yield item


@router.websocket(STREAM_PATH + "/{stream_id}")
async def policy_stream(websocket: WebSocket, stream_id: str) -> None:
    door: LiteLLMDoor = websocket.app.state.litellm_door
    if not proxy_allowed(websocket, door):
        await websocket.close(CLOSE_POLICY_VIOLATION, reason=f"missing or wrong {PROXY_TOKEN_HEADER} header")
        return
    await websocket.accept()
    try:
        start = _parse(await asyncio.wait_for(websocket.receive(), door.pipeline.stream_idle_timeout_s))
        if start["type"] != FRAME_START:
            raise PeerBrokeProtocol(f"first frame must be START, got {start['type']}")
        try:
            dialect = dialect_named(start.get(DIALECT_KEY))
        except UnknownDialect as exc:
            raise PeerBrokeProtocol(str(exc)) from None
    except PeerBrokeProtocol as exc:
        await websocket.close(CLOSE_PROTOCOL_ERROR, reason=exc.reason)
        return
    except (TimeoutError, WebSocketDisconnect):
        await _close_quietly(websocket, CLOSE_PROTOCOL_ERROR, "no START frame")
        return

    inbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=_INBOX_SIZE)
    sender = _ChunkSender(websocket)
    receiver = asyncio.create_task(_receive_frames(websocket, inbox))
    close_code, close_reason = CLOSE_NORMAL, ""
    try:
        async with door.pipeline.stream(
            stream_id, start["data"], source="the proxy", dialect=dialect
        ) as call:
            async with sender.keeping_alive(door.keepalive_s):
                end = await call.run(_drain(inbox), sender.send_chunk)
            if end.status == "success":
                with contextlib.suppress(Exception):  # a proxy gone after the last chunk missed only END
                    await websocket.send_bytes(_END_FRAME)
            elif end.status == "protocol_error":
                close_code, close_reason = CLOSE_PROTOCOL_ERROR, end.error or ""
            elif end.status != "disconnected":  # a proxy that is gone cannot be told anything
                close_code = await _send_final(websocket, _final_frame(end), receiver)
    finally:
        receiver.cancel()
        with contextlib.suppress(BaseException):
            await receiver
    await _close_quietly(websocket, close_code, close_reason)


class _ChunkSender:
    """Writes the policed chunks; while the policy sends nothing, a KEEPALIVE every period.

    A chunk only sets a flag (no timer per chunk): the keepalive task looks once per period, so the
    longest silence is two periods.
    """

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket
        self._sent = False

    async def send_chunk(self, encoded: bytes) -> None:
        self._sent = True
        await self._websocket.send_bytes(_CHUNK_HEAD + encoded + b"}")

    @contextlib.asynccontextmanager
    async def keeping_alive(self, every_s: float) -> AsyncIterator[None]:
        """Keepalives while the block runs; none after it, so END or ERROR is the last frame."""

        async def beat() -> None:
            while True:
                await asyncio.sleep(every_s)
                if not self._sent:
                    await self._websocket.send_bytes(_KEEPALIVE_FRAME)
                self._sent = False

        task = asyncio.create_task(beat())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(BaseException):  # a proxy gone: the stream itself reports it
                await task


def _final_frame(end: StreamEnd) -> dict[str, Any]:
    if end.status == "rejected":
        return {"type": FRAME_REJECT, "error": end.error, "status_code": end.status_code}
    return {"type": FRAME_ERROR, "error": end.error}


async def _send_final(websocket: WebSocket, frame: dict[str, Any], receiver: asyncio.Task[None]) -> int:
    """Send ERROR/REJECT, then let the proxy finish sending and close first.

    Closing while the proxy is still sending chunks can reset the connection and lose the frame just
    sent, so unless the proxy already ended its input, keep reading (and discarding) until it
    closes, for a bounded time.
    """
    proxy_still_sending = not receiver.done()
    receiver.cancel()
    with contextlib.suppress(BaseException):
        await receiver
    with contextlib.suppress(Exception):
        await websocket.send_bytes(orjson.dumps(frame))
        if proxy_still_sending:
            async with asyncio.timeout(_DRAIN_SECONDS):
                while (await websocket.receive())["type"] != "websocket.disconnect":
                    pass
    return CLOSE_INTERNAL_ERROR


async def _close_quietly(websocket: WebSocket, code: int, reason: str) -> None:
    if websocket.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(Exception):
            await websocket.close(code, reason=reason[:120])
