"""`Pipeline`: the one object every door runs a call through.

A door parses its wire format, hands the call to the pipeline, and writes what comes out in its
wire format. The pipeline owns the rest: identity, redaction, running the policy, recording,
events, the stream context, stream timeouts, and how a stream ended (`StreamEnd`, mapped once from
the `StreamAborted` that ended it). Hook calls go through `run_hook`; a stream through `stream`,
whose block is where the door writes the end — the stream is recorded when the block is left, so
recording never delays the client's last frame.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Tracer

from luthien_proxy.backends.policy_state import PolicyState
from luthien_proxy.backends.stream_context.context_store import StreamContextStore
from luthien_proxy.backends.telemetry import (
    HOOK_SPAN,
    NO_TRACER,
    STREAM_SPAN,
    annotate,
    finish,
    note_policy,
    span,
)
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_chat import OPENAI_CHAT
from luthien_proxy.dialects.registry import dialect_field
from luthien_proxy.pipeline.active_policies import ActivePolicies
from luthien_proxy.pipeline.hooks import SHARED_CHOICE_PREFIX, HookOutcome, HookPipeline, Payload
from luthien_proxy.pipeline.identity import CallIdentity, facts_of, identity_of
from luthien_proxy.pipeline.recorder import CallRecorder
from luthien_proxy.pipeline.stream import Chunk, PolicyStream, Send, StreamAborted, StreamTimeout
from luthien_proxy.pipeline.tracing import hook_attributes, stream_attributes
from luthien_proxy.policies import LuthienPolicy
from luthien_proxy.policies.policy_set import CallFacts, PolicySet, Selection
from luthien_proxy.wire import (
    CALL_ID_KEY,
    DOOR_KEY,
    DOOR_LITELLM,
    DOOR_NATIVE,
    FAILURE_HOOK,
    POLICY_VERSION_KEY,
    PRE_CALL_HOOK,
    SUCCESS_HOOK,
    TRACE_ID_KEY,
)

logger = logging.getLogger(__name__)

CANCELLED = "the client went away before the stream ended"


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """How a stream ended: `status` as its summary record says it (success, rejected, error,
    upstream_error, timeout, protocol_error, disconnected), `error` in words fit for the client, and
    the HTTP status a client that has not been answered yet should get."""

    status: str = "success"
    error: str | None = None
    status_code: int = 200

    @classmethod
    def of(cls, aborted: StreamAborted) -> StreamEnd:
        return cls(aborted.status, aborted.reason or None, aborted.status_code)


class StreamCall:
    """One stream through the pipeline, between `Pipeline.stream`'s entry and its recording."""

    def __init__(
        self,
        stream: PolicyStream,
        idle_s: float,
        total_s: float,
        source: str,
        tracer: Tracer = NO_TRACER,
        door: str | None = None,
    ) -> None:
        self.stream = stream
        self._tracer = tracer
        self._door = door
        self.end = StreamEnd()
        self._idle_s = idle_s
        self._total_s = total_s
        self._source = source
        #: When the stream started waiting for its next input chunk; None while it is not waiting.
        self._waiting_since: float | None = None

    async def run(self, chunks: AsyncIterator[Chunk], send: Send) -> StreamEnd:
        """Run `chunks` through the policy, each output chunk to `send`; never raises `StreamAborted`.
        Traced as one span (`luthien.stream`), continuing the trace context of the stream's request
        when no span is current (the LiteLLM door)."""
        request = self.stream.ctx.raw_request
        with span(self._tracer, STREAM_SPAN, remote=request) as traced:
            if traced.is_recording():
                annotate(traced, stream_attributes(self.stream, self._door))
                note_policy(self.stream.policy_record)
            end = await self._run(chunks, send)
            finish(traced, end.status, end.status_code)
            return end

    async def _run(self, chunks: AsyncIterator[Chunk], send: Send) -> StreamEnd:
        """Run `chunks` through the policy (see `run`).

        The total timeout bounds the whole run; the idle timeout bounds each wait for input (time
        the policy spends on a chunk does not count). A watchdog checks idleness once per idle
        period, so the per-chunk cost is two attribute writes, not a timer per chunk.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._total_s
        idle_expired = False
        budget = asyncio.timeout_at(deadline)

        def watch() -> None:
            nonlocal watchdog, idle_expired
            now = loop.time()
            since = self._waiting_since
            if since is not None and now - since >= self._idle_s:
                idle_expired = True
                budget.reschedule(now)
            else:
                watchdog = loop.call_at((since if since is not None else now) + self._idle_s, watch)

        watchdog = loop.call_at(loop.time() + self._idle_s, watch)
        try:
            async with budget:
                await self.stream.run(self._timed(chunks), send)
        except StreamAborted as exc:
            self.end = StreamEnd.of(exc)
        except TimeoutError:
            if not budget.expired():
                raise
            reason = (
                f"no chunk from {self._source} for {self._idle_s:g}s (idle timeout)"
                if idle_expired
                else f"stream exceeded the total timeout of {self._total_s:g}s"
            )
            self.end = StreamEnd.of(StreamTimeout(reason))
        finally:
            watchdog.cancel()
        return self.end

    def abort(self, aborted: StreamAborted) -> StreamEnd:
        """End the stream for a reason the door found itself (its upstream could not be opened)."""
        self.end = StreamEnd.of(aborted)
        return self.end

    async def _timed(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
        loop = asyncio.get_running_loop()
        iterator = aiter(chunks)
        while True:
            self._waiting_since = loop.time()
            try:
                chunk = await anext(iterator)
            except StopAsyncIteration:
                return
            finally:
                self._waiting_since = None
            yield chunk


class Pipeline:
    """The active policies over the backends: hook calls and streams in, outcomes out, all recorded.

    `policies` holds the policy set calls start on (swapped by a hot reload) and each running
    call's choice, so a call finishes on the policy it started with."""

    def __init__(
        self,
        policy: LuthienPolicy | PolicySet | ActivePolicies,
        recorder: CallRecorder,
        stream_context: StreamContextStore,
        policy_state: PolicyState,
        *,
        stream_idle_timeout_s: float,
        stream_total_timeout_s: float,
        tracer: Tracer = NO_TRACER,
    ) -> None:
        self.policies = policy if isinstance(policy, ActivePolicies) else ActivePolicies(policy)
        self.recorder = recorder
        self.stream_context = stream_context
        self.policy_state = policy_state
        self.hooks = HookPipeline(self.policies, recorder, policy_state)
        self.stream_idle_timeout_s = stream_idle_timeout_s
        self.stream_total_timeout_s = stream_total_timeout_s
        #: Where the hook and stream spans go (`backends.telemetry`); `NO_TRACER`: nowhere.
        self.tracer = tracer

    @property
    def policy(self) -> LuthienPolicy:
        """The current set's default policy (the only one of a set without routes)."""
        return self.policies.current.default_policy

    async def run_hook(self, hook: str, payload: Payload) -> HookOutcome:
        """One hook call as the LiteLLM door sends it (see `HookPipeline.run`); traced as one span
        (`luthien.hook`), continuing the payload's trace context when no span is current."""
        with span(self.tracer, HOOK_SPAN, remote=payload) as traced:
            if traced.is_recording():
                annotate(traced, hook_attributes(hook, payload))
            outcome = await self.hooks.run(hook, payload)
            if outcome.rejection is None:
                finish(traced, "success")
            else:
                finish(traced, "rejected", outcome.rejection.status_code)
            return outcome

    # A door that serves calls itself (the native door) police them through these: it hands over
    # the call's ids and its request and response, and never builds the LiteLLM door's payloads.
    # They are recorded exactly as that door's hooks are, so both doors' calls read the same.

    async def police_request(
        self, ids: CallIdentity, request: Payload, dialect: Dialect = OPENAI_CHAT, key: str | None = None
    ) -> HookOutcome:
        """The request before it goes upstream (the call's start: its policy is chosen here, by
        `key`, the name of the client's key, among the rest); `result["data"]` is what goes."""
        payload = {**_native(ids, dialect, key), "data": {**request, **_ids(ids)}}
        return await self.run_hook(PRE_CALL_HOOK, payload)

    async def police_response(
        self, ids: CallIdentity, request: Payload, response: Payload, dialect: Dialect = OPENAI_CHAT
    ) -> HookOutcome:
        """A complete response; the outcome's `result["response"]` is what the client gets."""
        payload = {**_native(ids, dialect), "data": request, "response": response}
        return await self.run_hook(SUCCESS_HOOK, payload)

    async def record_failure(
        self, ids: CallIdentity, request: Payload, message: str, dialect: Dialect = OPENAI_CHAT
    ) -> None:
        """The call failed (`message` says why): record it as its outcome; never raises."""
        payload = {
            **_native(ids, dialect),
            "request_data": request,
            "original_exception": message,
        }
        try:
            await self.run_hook(FAILURE_HOOK, payload)
        except Exception:
            logger.exception("recording the failure of call %s failed", ids.call_id)

    @asynccontextmanager
    async def stream(
        self,
        stream_id: str,
        request: dict[str, Any],
        *,
        source: str,
        dialect: Dialect = OPENAI_CHAT,
        door: str = DOOR_LITELLM,
        recorded_request: dict[str, Any] | None = None,
    ) -> AsyncGenerator[StreamCall]:
        """A stream for `request`: run it with `StreamCall.run`, write its end, leave the block.

        `recorded_request`: `request` redacted, when the door has it from the request hook's
        outcome (`HookOutcome.recorded`), so the stream's record does not redact it again.

        `source` names where input chunks come from, for the idle-timeout message. The stream runs
        on the policy its call started with (its request hook's), else one chosen now. Leaving the
        block records the stream's summary with its end (shielded: a cancelled door still records
        it, as `disconnected`) and clears its stream context.
        """
        call_id = identity_of({"data": request}).call_id or stream_id
        # Only the LiteLLM callback puts the caller's key in a stream's request; on the native door
        # the body is the client's own (its calls always start in `police_request`).
        caller = {"user_api_key_dict": request.get("user_api_key_dict")} if door == DOOR_LITELLM else {}
        facts = facts_of({DOOR_KEY: door, **caller}, request)
        chosen = await self._choice(call_id, facts, request.get(POLICY_VERSION_KEY))
        stream = PolicyStream(
            chosen.policy,
            self.recorder,
            self.stream_context,
            stream_id=stream_id,
            request=request,
            policy_state=self.policy_state,
            dialect=dialect,
            policy_record=chosen.record(),
            recorded_request=recorded_request,
        )
        call = StreamCall(
            stream, self.stream_idle_timeout_s, self.stream_total_timeout_s, source, self.tracer, door
        )
        try:
            yield call
        except asyncio.CancelledError:
            call.end = StreamEnd("disconnected", CANCELLED)
            raise
        finally:
            try:
                await asyncio.shield(stream.finish(call.end.status, call.end.error))
            except Exception:
                logger.exception("stream %s: recording the summary failed", stream.call_id)
            self.policies.end(call_id)

    async def _choice(self, call_id: str, facts: CallFacts, known: Any) -> Selection:
        """A stream's policy: its call's choice (made here, or by the instance its request hook
        reached when routing chose by key), else one made now (in the version the LiteLLM
        callback acted on, `known`, while it is kept)."""
        current = self.policies.current
        if facts.door == DOOR_LITELLM and current.rules and not self.policies.pinned(call_id):
            try:
                shared = await self.policy_state.get(SHARED_CHOICE_PREFIX + call_id)
            except Exception as exc:
                logger.warning("reading the policy choice of call %s failed: %s", call_id, exc)
                shared = None
            adopted = self.policies.adopt(call_id, shared)
            if adopted is not None:
                return adopted
        return self.policies.start(call_id, facts, known)


_ID_FIELDS = (CALL_ID_KEY, TRACE_ID_KEY)


def _ids(ids: CallIdentity) -> Payload:
    return dict(zip(_ID_FIELDS, (ids.call_id, ids.trace_id), strict=True))


def _native(ids: CallIdentity, dialect: Dialect, key: str | None = None) -> Payload:
    """The top-level fields of a native-door payload: the ids, the dialect, the door and the name
    of the client's key (where the LiteLLM callback puts its virtual key's alias)."""
    caller = {"user_api_key_dict": {"key_alias": key}} if key else {}
    return {**_ids(ids), **dialect_field(dialect), DOOR_KEY: DOOR_NATIVE, **caller}


def without_call_ids(request: Payload) -> Payload:
    """A policed request as the upstream gets it: without the ids `police_request` put in it."""
    return {key: value for key, value in request.items() if key not in _ID_FIELDS}
