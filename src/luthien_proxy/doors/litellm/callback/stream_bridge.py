"""Polices a stream over a WebSocket: upstream chunks go to the control plane, its chunks go to the client.

Protocol (docs/streaming-protocol.md): send START{data}, CHUNK{data}* as upstream chunks arrive, then
END (or ERROR{error} if upstream failed); concurrently receive CHUNK{data} (yielded to the client), END
(finish) or ERROR{error}, and KEEPALIVE while the policy is quiet (a judge, a call held for audit):
it restarts the wait for the control plane, and once the client's stream has started it is passed on
as the dialect's own keepalive (an SSE comment, Anthropic's `ping`) so the client's connection stays
alive too. Before the first chunk the client is still waiting for the response headers. ERROR
means "the client must get an error", so it is never bypassed; nor is the optional
REJECT{error, status_code} (a deliberate block with its own status).

Failures: before the first chunk reaches the client they raise HTTPException (LiteLLM answers with that
status); after it they raise StreamPolicyError (LiteLLM ends the SSE stream with an error frame). A
stream whose dialect LiteLLM writes its own errors for (`errors_in_dialect`: Anthropic Messages, where
an HTTPException would become an OpenAI-shaped SSE body) always gets StreamPolicyError: before the
first chunk LiteLLM answers it as that dialect's JSON error with its status, after it as an `error`
event. In
fail-open mode only an unreachable control plane (connection refused, dropped without a close frame or
with "going away"/"restarting", silent after END) before the first client chunk replays the upstream
unpoliced. A close that refuses the stream (1009 message too big, 1002 protocol error) or reports an
error is blocked in both modes, so a client cannot provoke fail-open by padding its request or the
model's answer; after the first client chunk every failure ends the stream with an error, since mixing
policed and unpoliced output is unsafe.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import quote

import orjson
from fastapi import HTTPException
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, WebSocketException

from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.errors import (
    ControlPlaneError,
    PolicyRejected,
    StreamPolicyError,
    blocked_reason,
)
from luthien_proxy.doors.litellm.callback.stream_pump import (
    END,
    Failure,
    PumpState,
    UpstreamFailure,
    closed_failure,
    pump,
)
from luthien_proxy.wire import (
    FRAME_CHUNK,
    FRAME_END,
    FRAME_ERROR,
    FRAME_KEEPALIVE,
    FRAME_REJECT,
    FRAME_START,
    STREAM_PATH,
)

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class StreamBridge:
    """One policed stream: owns the WebSocket and the pump task for its lifetime."""

    def __init__(
        self,
        config: CallbackConfig,
        call_id: str,
        start_data: dict[str, Any],
        build_chunk: Callable[[dict[str, Any]], Any],
        *,
        start_fields: dict[str, Any] | None = None,
        errors_in_dialect: bool = False,
        keepalive: Any = None,
    ) -> None:
        self._config = config
        self._url = f"{config.ws_base_url}{STREAM_PATH}/{quote(call_id, safe='')}"
        self._start = {"type": FRAME_START, **(start_fields or {}), "data": start_data}
        self._build = build_chunk
        self._errors_in_dialect = errors_in_dialect
        #: What the client gets for a KEEPALIVE once its stream started (None: nothing).
        self._keepalive = keepalive
        self._yielded = False

    async def run(self, upstream: AsyncIterator[Any]) -> AsyncIterator[Any]:
        """Yield the policed stream for `upstream`."""
        try:
            ws = await connect(
                self._url,
                additional_headers=self._config.auth_headers(),
                open_timeout=self._config.timeout_s,
                max_size=MAX_MESSAGE_BYTES,
                compression=None,
            )
        except InvalidStatus as exc:  # it answered the handshake with a refusal or an error
            failure: Failure = ControlPlaneError(
                502,
                f"Luthien stream policy at {self._url} refused the connection: "
                f"HTTP {exc.response.status_code}",
            )
            async for chunk in self._on_failure_before_pump(failure, upstream):
                yield chunk
            return
        except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as exc:
            failure = ControlPlaneError(
                503,
                f"Luthien stream policy unreachable at {self._url}: {type(exc).__name__}",
                unreachable=True,
            )
            async for chunk in self._on_failure_before_pump(failure, upstream):
                yield chunk
            return
        try:
            await ws.send(orjson.dumps(self._start).decode())
        except ConnectionClosed as exc:  # e.g. 1009: the request alone is over the control plane's limit
            async for chunk in self._on_failure_before_pump(closed_failure(exc), upstream):
                yield chunk
            return
        state = PumpState(keep_copy=self._config.fail_open)
        pumping = asyncio.create_task(pump(ws, upstream, state))
        try:
            async for chunk in self._read(ws, state):
                yield chunk
        finally:
            if not pumping.done():
                pumping.cancel()
            await asyncio.gather(pumping, return_exceptions=True)
            await ws.close()

    async def _on_failure_before_pump(self, failure: Failure, upstream: AsyncIterator[Any]):
        if not self._may_fail_open(failure):
            self._raise(failure)
        log.warning("%s; passing the stream through unpoliced (fail-open)", failure.message)
        async for chunk in upstream:
            yield chunk

    async def _read(self, ws: ClientConnection, state: PumpState) -> AsyncIterator[Any]:
        while True:
            try:
                raw = await self._recv(ws, state)
                message = orjson.loads(raw)
                kind = message.get("type") if isinstance(message, dict) else None
            except ConnectionClosed as exc:
                if state.upstream_error is not None:
                    raise state.upstream_error from None
                async for chunk in self._fallback_or_raise(closed_failure(exc), state):
                    yield chunk
                return
            except (orjson.JSONDecodeError, ControlPlaneError) as exc:
                failure = (
                    exc
                    if isinstance(exc, ControlPlaneError)
                    else ControlPlaneError(502, "Luthien stream policy sent an invalid message")
                )
                async for chunk in self._fallback_or_raise(failure, state):
                    yield chunk
                return
            if kind == FRAME_CHUNK:
                chunk = self._build(message.get("data") or {})
                if not self._yielded:
                    self._yielded = True
                    state.keep_copy = False
                    state.copy = asyncio.Queue()
                yield chunk
            elif kind == FRAME_KEEPALIVE:
                if self._yielded and self._keepalive is not None:
                    yield self._keepalive
            elif kind == FRAME_END:
                return
            elif kind == FRAME_REJECT:
                status = message.get("status_code")
                self._raise(PolicyRejected(status if isinstance(status, int) else 403, _text(message)))
            elif kind == FRAME_ERROR:
                self._raise(ControlPlaneError(502, f"Luthien stream policy error: {_text(message)}"))
            else:
                log.debug("ignoring stream message of unknown type %r", kind)

    async def _recv(self, ws: ClientConnection, state: PumpState) -> str | bytes:
        """Receive one message; only time out once upstream is finished (policies may buffer), after
        `timeout_s` without any frame (a held call's keepalives keep it waiting)."""
        timeout = self._config.timeout_s
        while True:
            ended = state.end_sent_at
            since = None if ended is None else max(ended, state.heard_at)
            wait = timeout if since is None else max(0.0, since + timeout - time.monotonic())
            try:
                async with asyncio.timeout(wait):
                    message = await ws.recv()
                if ended is not None:
                    state.heard_at = time.monotonic()
                return message
            except TimeoutError:
                if ended is not None:
                    raise ControlPlaneError(
                        504,
                        f"Luthien stream policy sent nothing for {timeout:g}s after the upstream ended",
                        unreachable=True,
                    ) from None

    def _may_fail_open(self, failure: Failure) -> bool:
        """Fail-open replays the upstream only for an unreachable control plane, before any policed chunk."""
        unreachable = isinstance(failure, ControlPlaneError) and failure.unreachable
        return self._config.fail_open and unreachable and not self._yielded

    async def _fallback_or_raise(self, failure: Failure, state: PumpState) -> AsyncIterator[Any]:
        if not self._may_fail_open(failure):
            self._raise(failure)
        log.warning("%s; replaying the upstream stream unpoliced (fail-open)", failure.message)
        state.stop_sending = True
        while (item := await state.copy.get()) is not END:
            if isinstance(item, UpstreamFailure):
                raise item.exc
            yield item

    def _raise(self, error: Failure) -> None:
        reason = blocked_reason(self._config.fail_open)
        suffix = "" if isinstance(error, PolicyRejected) else f"; stream blocked ({reason})"
        if not self._yielded and not self._errors_in_dialect:
            raise HTTPException(error.status_code, detail=error.message + suffix)
        kind = "policy_rejection" if isinstance(error, PolicyRejected) else "policy_error"
        raise StreamPolicyError(error.status_code, error.message + suffix, kind)


def _text(message: dict[str, Any]) -> str:
    error = message.get("error")
    return error if isinstance(error, str) and error else "no reason given"
