"""`PolicyLink`: the callback's standing WebSocket to the control plane (`/api/link`).

On connect the control plane names the hooks its policy implements. A hook that comes after the
last of those in a call needs no answer, so the callback reports it over the link (batched, never
awaited on the request path) instead of a round trip per hook; a stream such a policy leaves alone
is relayed unchanged and its chunks reported as they pass. Every other hook takes the slow path: the
hook API or the stream WebSocket, answered before the call goes on. (A hook the policy leaves alone
but that comes before one it answers is asked too: reported, it could reach the control plane after
the later, asked one.)

Safety: while the link is down the policy is unknown and every hook takes the slow path, which fails
closed on its own when the control plane is unreachable. A control plane that restarts (perhaps with
another policy) drops the link first, so a stale answer is never used. A policy changed while the
link is up comes as a new POLICY frame. Each call keeps the frame it started under (`policy_of`)
for all its hooks, and every hook body and stream request names that frame's version
(`POLICY_VERSION_KEY`): the control plane runs the call on that version, so what this side
reported unasked is exactly what the call's policy leaves alone, even across a change. (A link that
drops forgets every call's frame: a reconnected control plane may know no earlier version.)
Reports are at most once: a batch lost with its connection is lost (the control plane logs the
link's close).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, WebSocketException
from websockets.protocol import State

from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.sanitize import model_json
from luthien_proxy.wire import (
    FAILURE_HOOK,
    LINK_PATH,
    LINK_POLICY,
    LINK_RECORDS,
    LINK_STREAM_CHUNK,
    LINK_STREAM_END,
    LINK_STREAM_START,
    MODERATION_HOOK,
    POLICY_VERSION_KEY,
    PRE_CALL_HOOK,
    STREAM_HOOK,
    SUCCESS_HOOK,
)

log = logging.getLogger(__name__)

#: Where each hook comes in a call (the success hook and the stream are alternatives).
CALL_ORDER = {
    PRE_CALL_HOOK: 0,
    MODERATION_HOOK: 1,
    SUCCESS_HOOK: 2,
    STREAM_HOOK: 2,
    FAILURE_HOOK: 3,
}
#: Reports waiting for the link beyond this many are dropped (oldest first) and counted.
MAX_PENDING = 10_000
_RETRY_MAX_S = 5.0
_PING_S = 5.0
#: After a first report, how long the sender waits for more before sending the batch: a frame per
#: stream chunk costs LiteLLM's single event loop more than the policy's latency budget allows.
FLUSH_LINGER_S = 0.02
#: Calls whose POLICY frame is kept until they end; beyond it the oldest are forgotten (a call whose
#: end never comes must not hold memory), and a forgotten call takes the frame of the moment.
MAX_CALLS = 10_000

Chunk = TypeVar("Chunk")


class EventDecoder(Protocol):
    """Reads a stream's items as its dialect's events (an SSE decoder, a typed-event reader)."""

    def feed(self, chunk: Any) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]: ...


def reportable(policed: list[str]) -> frozenset[str]:
    """The hooks that may be reported when the policy answers `policed`: those after the last hook
    it answers. A reported hook never comes before an asked one in a call, so the control plane
    always sees a call's hooks in the order they ran."""
    last = max((CALL_ORDER.get(hook, len(CALL_ORDER)) for hook in policed), default=-1)
    return frozenset(hook for hook, position in CALL_ORDER.items() if position > last)


@dataclass(frozen=True, slots=True)
class LinkPolicy:
    """What one POLICY frame said: the policy's version and the hooks that may be reported under it."""

    version: str | None
    reportable: frozenset[str]

    def stamp(self) -> dict[str, str]:
        """The field naming this version in a hook body or a stream's request."""
        return {POLICY_VERSION_KEY: self.version} if self.version else {}


class PolicyLink:
    """One per callback (per LiteLLM worker); connects lazily and reconnects with backoff."""

    def __init__(self, config: CallbackConfig) -> None:
        self._config = config
        self._url = f"{config.ws_base_url}{LINK_PATH}"
        self._ws: ClientConnection | None = None
        self._policy: LinkPolicy | None = None
        #: The frame each call in flight started under (its first hook's).
        self._calls: OrderedDict[str, LinkPolicy] = OrderedDict()
        self._pending: list[dict[str, Any]] = []
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.dropped = 0

    def policy_of(self, call_id: str | None) -> LinkPolicy | None:
        """The POLICY frame `call_id` runs under: the one it started under, else the current one
        (which it keeps from now); None while the link is down. Starts the link on first use."""
        self._ensure_running()
        if not self._up():
            return None
        if not call_id:
            return self._policy
        known = self._calls.get(call_id)
        if known is None and self._policy is not None:
            known = self._calls[call_id] = self._policy
            if len(self._calls) > MAX_CALLS:
                self._calls.popitem(last=False)
        return known

    def may_report(self, hook: str, call_id: str | None = None) -> bool:
        """Whether `hook` of `call_id` can be reported instead of asked: the link is up and the
        call's POLICY frame allows it."""
        policy = self.policy_of(call_id)
        return policy is not None and hook in policy.reportable

    def stamp(self, call_id: str | None) -> dict[str, str]:
        """The version field for a hook body or stream request of `call_id` (none while down)."""
        policy = self.policy_of(call_id)
        return policy.stamp() if policy is not None else {}

    def forget(self, call_id: str | None) -> None:
        """The call is over: its frame is no longer kept."""
        if call_id:
            self._calls.pop(call_id, None)

    def _up(self) -> bool:
        # The state is checked too: it turns CLOSED the moment the transport closes, before the
        # link task has run to notice.
        return self._policy is not None and self._ws is not None and self._ws.state is State.OPEN

    def report_hook(self, hook: str, payload: dict[str, Any]) -> None:
        """Queue one hook call's record (the hook API's body) for the next batch."""
        self._report({"hook": hook, "payload": payload})

    async def relay_stream(
        self,
        stream_id: str,
        request: dict[str, Any],
        upstream: AsyncIterator[Chunk],
        *,
        start_fields: dict[str, Any] | None = None,
        decoder: EventDecoder | None = None,
    ) -> AsyncIterator[Chunk]:
        """Yield `upstream` unchanged, reporting the stream and each chunk as it passes.

        With a `decoder` (an SSE stream, whose items are transport reads; typed events, reported as
        a client reads them) the reported chunks are the events it completes, not the items."""
        self._report(
            {"stream": LINK_STREAM_START, "id": stream_id, **(start_fields or {}), "request": request}
        )
        status, error = "disconnected", "the client went away before the stream ended"
        try:
            async for chunk in upstream:
                for item in [model_json(chunk)] if decoder is None else decoder.feed(chunk):
                    self._report({"stream": LINK_STREAM_CHUNK, "id": stream_id, "chunk": item})
                yield chunk
            for item in decoder.finish() if decoder is not None else ():
                self._report({"stream": LINK_STREAM_CHUNK, "id": stream_id, "chunk": item})
            status, error = "success", None
        except Exception as exc:
            status, error = "upstream_error", f"upstream stream failed: {exc}"
            raise
        finally:
            self._report({"stream": LINK_STREAM_END, "id": stream_id, "status": status, "error": error})

    async def aclose(self) -> None:
        """Send what is queued (briefly), then close the link."""
        if self._task is None:
            return
        if self._pending and self._ws is not None and self._up():
            items, self._pending = self._pending, []
            with contextlib.suppress(Exception):
                async with asyncio.timeout(self._config.timeout_s):
                    await self._ws.send(orjson.dumps({"type": LINK_RECORDS, "items": items}))
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def _report(self, item: dict[str, Any]) -> None:
        self._pending.append(item)
        if len(self._pending) > MAX_PENDING:
            del self._pending[0]
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error(
                    "proxy link: %d reports dropped (the control plane is not taking them)", self.dropped
                )
        self._wakeup.set()

    def _ensure_running(self) -> None:
        loop = asyncio.get_running_loop()
        # A task belongs to the loop that made it; a new loop (tests, reloads) needs a new link.
        if self._task is None or self._loop is not loop or self._task.done():
            self._loop = loop
            self._forget_policy()
            self._wakeup = asyncio.Event()
            self._task = loop.create_task(self._run(), name="luthien-proxy-link")

    async def _run(self) -> None:
        delay = 0.1
        while True:
            started = time.monotonic()
            try:
                await self._session()
            except (OSError, TimeoutError, InvalidHandshake, WebSocketException, ValueError) as exc:
                log.debug("proxy link to %s down: %s: %s", self._url, type(exc).__name__, exc)
            finally:
                self._forget_policy()
            # A link that lived a while reconnects at once; one that keeps failing backs off.
            delay = 0.1 if time.monotonic() - started > _RETRY_MAX_S else min(delay * 2, _RETRY_MAX_S)
            await asyncio.sleep(delay)

    async def _session(self) -> None:
        async with connect(
            self._url,
            additional_headers=self._config.auth_headers(),
            open_timeout=self._config.timeout_s,
            ping_interval=_PING_S,
            ping_timeout=_PING_S,
            compression=None,
            max_size=2**20,
        ) as ws:
            self._learn(await asyncio.wait_for(ws.recv(), self._config.timeout_s))
            self._ws = ws
            sender = asyncio.create_task(self._send_loop(ws))
            try:
                async for frame in ws:  # a later POLICY: the policy changed; calls begun keep theirs
                    self._learn(frame)
            finally:
                sender.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sender

    def _learn(self, raw: str | bytes) -> None:
        """Take a POLICY frame as the one new calls start under; anything else drops the link."""
        frame = orjson.loads(raw)
        policed = frame.get("policed") if isinstance(frame, dict) else None
        if not isinstance(frame, dict) or frame.get("type") != LINK_POLICY or not isinstance(policed, list):
            raise ValueError(f"unexpected frame on the proxy link: {str(frame)[:100]}")
        version = frame.get("version")
        self._policy = LinkPolicy(
            version if isinstance(version, str) and version else None,
            reportable([str(hook) for hook in policed]),
        )
        reported = ", ".join(sorted(self._policy.reportable, key=CALL_ORDER.__getitem__))
        log.info("proxy link: policy %s (%s); reporting %s", frame.get("policy"), version, reported)

    def _forget_policy(self) -> None:
        """The link is down: nothing is known, not even what calls in flight started under."""
        self._ws, self._policy = None, None
        self._calls.clear()

    async def _send_loop(self, ws: ClientConnection) -> None:
        while True:
            await self._wakeup.wait()
            await asyncio.sleep(FLUSH_LINGER_S)
            self._wakeup.clear()
            if not self._pending:
                continue
            items, self._pending = self._pending, []
            try:
                await ws.send(orjson.dumps({"type": LINK_RECORDS, "items": items}))
            except BaseException:
                # Not sent: keep them, in order, for the next connection.
                self._pending[:0] = items
                raise
