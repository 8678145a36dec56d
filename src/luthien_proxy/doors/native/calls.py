"""`NativeCalls`: a model call served by the control plane itself, through the same pipeline, in
the client's dialect (`DoorForm`: OpenAI chat or Anthropic Messages).

Non-streamed: the policy's `on_request` → upstream → `on_response`, each recorded and published
exactly as for a call through LiteLLM. Streamed: `on_request`, then the upstream chunks run
through `Pipeline.stream`, as the WebSocket route's do, each output frame handed straight to the
transport's `FrameSink` (no relay task or queue in between). Nothing is sent to the client until
the policy has produced its first output, so a refusal or failure before that is a proper HTTP
error; after it, the stream ends with an error event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

from luthien_proxy.backends.telemetry import finish
from luthien_proxy.call_scope import MASTER_PRINCIPAL, scoped_id
from luthien_proxy.doors.native.forms import CallError, DoorForm
from luthien_proxy.doors.native.tracing import (
    call_span,
    describe_call,
    describe_upstream,
    outcome_of,
    upstream_span,
)
from luthien_proxy.doors.native.upstream import ClientRequest, UpstreamClient, UpstreamError
from luthien_proxy.doors.native.upstream_wire import NO_CLIENT
from luthien_proxy.model_routes import ModelRoute, ModelRoutes
from luthien_proxy.pipeline import CallIdentity, HookInputError, HookOutcome, Pipeline, StreamEnd
from luthien_proxy.pipeline.pipeline import without_call_ids
from luthien_proxy.pipeline.stream import UpstreamFailed
from luthien_proxy.redaction import redact_text
from luthien_proxy.wire import DOOR_NATIVE, PRE_CALL_HOOK, SUCCESS_HOOK

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CallIds(CallIdentity):
    """A call's ids as this door makes them: it always has a call id. `key` is the name of the
    client's named key (None: the master key); the ids are in that key's namespace."""

    call_id: str
    key: str | None = None
    raw_trace_id: str | None = None

    @classmethod
    def new(cls, trace_id: str | None, key: str | None = None) -> CallIds:
        """A call id of ours; the client's trace id, both in the namespace of the client's key
        (`call_scope`: the master key's is unprefixed)."""
        principal = _principal(key)
        call_id = str(uuid.uuid4())
        scoped_call = call_id if key is None else scoped_id(principal, call_id) or call_id
        return cls(scoped_call, scoped_id(principal, trace_id), key, trace_id)

    def in_trace(self, trace_id: str | None) -> CallIds:
        """The same call in the client's trace `trace_id` (known only once the body is read)."""
        return CallIds(self.call_id, scoped_id(_principal(self.key), trace_id), self.key, trace_id)

    def of_key(self, key: str | None) -> CallIds:
        """The call's ids once the client's key is known: a new call id in a named key's namespace."""
        return self if key == self.key else CallIds.new(self.raw_trace_id, key)


def _principal(key: str | None) -> str:
    """The identity a named key's ids are scoped by; the master key's own for None."""
    return MASTER_PRINCIPAL if key is None else f"luthien_client_key:{key}"


def _client_error(end: StreamEnd) -> CallError | None:
    """What the client gets for a stream that ended early; None when it ended well or the client is gone."""
    if end.status in ("success", "disconnected"):
        return None
    kind = {"rejected": "policy_rejection", "upstream_error": "upstream_error", "timeout": "timeout"}.get(
        end.status, "policy_error"
    )
    return CallError(end.status_code, end.error or end.status, kind)


def _upstream_error(exc: UpstreamError) -> CallError:
    return CallError(exc.status_code, exc.message, "upstream_error", exc.kind)


class FrameSink(Protocol):
    """Where a stream's SSE frames go: the first one starts the HTTP response."""

    @property
    def started(self) -> bool: ...

    async def send(self, frame: bytes, *, urgent: bool = False) -> None:
        """Send `frame`; `urgent` asks for it to be written now rather than coalesced with the next."""
        ...

    async def end(self, frame: bytes) -> None:
        """Send the last frame and finish the response."""
        ...


@contextlib.asynccontextmanager
async def keepalive(out: FrameSink, frame: bytes | None, every_s: float) -> AsyncIterator[None]:
    """While the block runs, `frame` every `every_s` seconds once the response has started (a
    judge's wait must not look like a dead connection); nothing before: until the policy's first
    output a failure can still be a proper HTTP error."""
    if frame is None:
        yield
        return

    async def ping() -> None:
        while True:
            await asyncio.sleep(every_s)
            if out.started:
                await out.send(frame)

    task = asyncio.create_task(ping())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


class NativeCalls:
    """Serves one dialect's calls for the models of `routes` in that dialect, policed by `pipeline`."""

    def __init__(
        self,
        pipeline: Pipeline,
        upstreams: UpstreamClient,
        routes: ModelRoutes,
        form: DoorForm,
        keepalive_s: float = 5.0,
    ) -> None:
        self.pipeline = pipeline
        self.keepalive_s = keepalive_s
        self.upstreams = upstreams
        self.routes = routes
        self.form = form
        self.dialect = form.dialect

    def served(self) -> list[str]:
        """The model names this dialect's door serves."""
        return self.routes.names(self.form.routes)

    def route_for(self, model: str) -> ModelRoute:
        route = self.routes.find(self.form.routes, model)
        if route is None:
            served = ", ".join(self.served()) or "none"
            raise CallError(
                404, f"model {model!r} is not served by this front door (served: {served})", "model_not_found"
            )
        return route

    async def _policed(
        self, hook: str, outcome: Awaitable[HookOutcome]
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """The result of a policed step and its redacted record; a rejection or a policy failure
        becomes a `CallError`.

        Never fails open: the policy runs in this process, so a failure here is the policy failing
        on this call — which a client or a model can provoke — not an unreachable control plane.
        """
        try:
            done = await outcome
        except HookInputError as exc:
            raise CallError(502, f"the upstream's answer was refused: {exc}", "upstream_error") from None
        except Exception as exc:
            raise CallError(
                500, redact_text(f"policy failed in {hook}: {type(exc).__name__}: {exc}"), "policy_error"
            ) from exc
        if done.rejection is not None:
            rejection = done.rejection
            raise CallError(rejection.status_code, rejection.message, "policy_rejection")
        assert done.result is not None
        return done.result, done.recorded

    async def _request(
        self, body: dict[str, Any], ids: CallIds
    ) -> tuple[dict[str, Any], ModelRoute, dict[str, Any] | None]:
        """The policed request, where it goes, and the request as recorded (redacted) when known."""
        policed = self.pipeline.police_request(ids, body, self.dialect, key=ids.key)
        result, recorded = await self._policed(PRE_CALL_HOOK, policed)
        rewritten = result.get("data")
        data = rewritten if isinstance(rewritten, dict) else body
        recorded_data = recorded.get("data") if recorded is not None and data is rewritten else None
        return data, self.route_for(str(data.get("model"))), recorded_data

    def _upstream_body(self, data: dict[str, Any], route: ModelRoute) -> dict[str, Any]:
        body = without_call_ids(data)
        body["model"] = route.upstream_model
        return body

    async def _failed(self, data: dict[str, Any], ids: CallIds, error: CallError) -> CallError:
        await self.pipeline.record_failure(ids, data, error.message, self.dialect)
        error.recorded = True
        return error

    async def complete(
        self, body: dict[str, Any], ids: CallIds, client: ClientRequest = NO_CLIENT
    ) -> dict[str, Any]:
        """A policed non-streamed answer; raises `CallError` for anything but success, with the
        call recorded as failed (an unknown model too), so no call stays "in progress"."""
        with call_span(self.pipeline.tracer) as traced:
            describe_call(traced, ids, self.dialect, body)
            try:
                answer = await self._complete(body, ids, client)
            except CallError as error:
                finish(traced, outcome_of(error), error.status_code)
                raise (error if error.recorded else await self._failed(body, ids, error)) from None
            finish(traced, "success", 200)
            return answer

    async def stream(
        self, body: dict[str, Any], ids: CallIds, out: FrameSink, client: ClientRequest = NO_CLIENT
    ) -> None:
        """A policed stream, written frame by frame to `out` (see `_stream`); a `CallError` raised
        before the first frame is recorded as the call's outcome first."""
        with call_span(self.pipeline.tracer) as traced:
            describe_call(traced, ids, self.dialect, body)
            try:
                ended = await self._stream(body, ids, out, client)
            except CallError as error:
                finish(traced, outcome_of(error), error.status_code)
                raise (error if error.recorded else await self._failed(body, ids, error)) from None
            except asyncio.CancelledError:
                finish(traced, "disconnected")
                raise
            finish(traced, ended, 200)

    async def _complete(self, body: dict[str, Any], ids: CallIds, client: ClientRequest) -> dict[str, Any]:
        data, route, _ = await self._request(body, ids)
        try:
            body = self._upstream_body(data, route)
            with upstream_span(self.pipeline.tracer, route) as upstream:
                describe_upstream(upstream, route)
                response = await self.upstreams.complete(route, body, client, self.form.api)
        except UpstreamError as exc:
            raise await self._failed(data, ids, _upstream_error(exc)) from None
        policed = self.pipeline.police_response(ids, data, response, self.dialect)
        result, _ = await self._policed(SUCCESS_HOOK, policed)
        final = result.get("response")
        return final if isinstance(final, dict) else response

    async def _stream(self, body: dict[str, Any], ids: CallIds, out: FrameSink, client: ClientRequest) -> str:
        """A policed stream, written frame by frame to `out`; returns how it ended (`StreamEnd.status`).

        Raises `CallError` if it fails before the first frame (nothing has been sent, so the client
        can get a proper HTTP error); after that, a failure ends the stream with an error frame.
        """
        data, route, recorded = await self._request(body, ids)
        failure: CallError | None = None
        frame = self.form.frame
        async with self.pipeline.stream(
            ids.call_id,
            data,
            source="the upstream",
            dialect=self.dialect,
            door=DOOR_NATIVE,
            recorded_request=recorded if isinstance(recorded, dict) else None,
        ) as call:
            first_token_sent = False

            async def send(encoded: bytes) -> None:
                # Until the first token is out, nothing waits to be coalesced: time to first token
                # is what a user feels. `final_parts[-1]` is the text of the chunk being sent.
                nonlocal first_token_sent
                if first_token_sent:
                    await out.send(frame(encoded))
                else:
                    first_token_sent = bool(call.stream.final_parts[-1])
                    await out.send(frame(encoded), urgent=True)

            try:
                body = self._upstream_body(data, route)
                upstream = self.upstreams.stream(route, body, client, self.form.api)
                with upstream_span(self.pipeline.tracer, route, current=False) as upstream_traced:
                    describe_upstream(upstream_traced, route)
                    async with upstream as chunks, keepalive(out, self.form.keepalive, self.keepalive_s):
                        end = await call.run(chunks, send)
                    if end.status == "upstream_error":
                        finish(upstream_traced, end.status)
            except UpstreamError as exc:
                end = call.abort(UpstreamFailed(exc.message, exc.status_code))
                # Nothing reached the policy: the call failed as a non-streamed one would.
                failure = await self._failed(data, ids, _upstream_error(exc))
            if end.status == "success":
                await out.end(self.form.done)
            failure = failure or _client_error(end)
        if failure is not None:
            if not out.started:
                raise failure
            await out.end(self.form.error_frame(failure))
        return end.status
