"""`FrameWriter`: a policed stream's SSE frames written straight to ASGI `send`, coalesced.

Frames up to the first one with content go out at once (the first with the status line), so time
to first token pays for nothing else. Later frames go to a writer task, which sends everything that
piled up since its last write as one body message: frames the policy produced in the same loop turn
(upstream chunks that arrived together) share one socket write, and a frame never waits longer than
the policy's work on input that was already there. A slow client blocks the producer once
`max_pending` frames wait.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import Send

_SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}


class FrameWriter:
    """A `FrameSink` (see `native.chat`) for one HTTP response."""

    def __init__(self, send: Send, headers: dict[str, str], max_pending: int = 256) -> None:
        self._send = send
        self._headers = [(k.encode(), v.encode()) for k, v in {**headers, **_SSE_HEADERS}.items()]
        self._max_pending = max_pending
        self._pending: list[bytes] = []
        self._wakeup = asyncio.Event()
        self._taken = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        self.started = False
        #: Set once the last frame is handed over: a hang-up after that is not an interrupted stream.
        self.ended = False

    async def send(self, frame: bytes, *, urgent: bool = False) -> None:
        """Send `frame`; `urgent` writes it now instead of with the next batch."""
        if not self.started:
            self.started = True
            await self._send({"type": "http.response.start", "status": 200, "headers": self._headers})
            urgent = True
        if urgent and self._writer is None:
            await self._send({"type": "http.response.body", "body": frame, "more_body": True})
            return
        self._pending.append(frame)
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_loop())
        self._wakeup.set()
        while len(self._pending) >= self._max_pending and not self._writer.done():
            self._taken.clear()
            await self._taken.wait()

    async def end(self, frame: bytes) -> None:
        """Send `frame` as the last one and finish the response (after the frames still pending)."""
        self.ended = True
        if self._writer is None:
            if not self.started:
                self.started = True
                await self._send({"type": "http.response.start", "status": 200, "headers": self._headers})
            await self._send({"type": "http.response.body", "body": frame, "more_body": False})
            return
        self._pending.append(frame)
        self._closing = True
        self._wakeup.set()
        await self._writer

    async def aclose(self) -> None:
        """Stop the writer task if the stream was abandoned before `end`."""
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _write_loop(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            frames, self._pending = self._pending, []
            self._taken.set()
            last = self._closing
            if frames or last:
                body = frames[0] if len(frames) == 1 else b"".join(frames)
                await self._send({"type": "http.response.body", "body": body, "more_body": not last})
            if last:
                return
