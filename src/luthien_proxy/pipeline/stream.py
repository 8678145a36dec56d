"""`PolicyStream`: one streamed response through the active policy, recorded and published.

Transport-neutral: a door feeds input chunks as an async iterator and gets each output chunk,
already encoded, through `send`. Each chunk is encoded once; the same bytes go to the client, the
event and the debug record. Doors do not build one themselves: `Pipeline.stream` does, and owns its
timeouts and its end (`pipeline.pipeline`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson

from luthien_proxy.backends.events.model import EventType
from luthien_proxy.backends.policy_state import PolicyState
from luthien_proxy.backends.stream_context.context_store import StreamContextStore
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.registry import dialect_field
from luthien_proxy.model import MalformedToolCall
from luthien_proxy.pipeline.identity import CallIdentity, identity_of
from luthien_proxy.pipeline.policing import close_iterator, police_stream
from luthien_proxy.pipeline.recorder import CallRecorder
from luthien_proxy.policies import LuthienPolicy, PolicyContext, PolicyRejection, overrides
from luthien_proxy.redaction import redact, redact_encoded
from luthien_proxy.wire import HOOK_RECORD_PREFIX, STREAM_CHUNKS_TYPE, STREAM_HOOK, STREAM_SUMMARY_TYPE

logger = logging.getLogger(__name__)

#: Chunks are recorded in batches of at most this many, or this old, whichever comes first.
CHUNK_BATCH = 64
CHUNK_BATCH_SECONDS = 0.1

Chunk = dict[str, Any]
Send = Callable[[bytes], Awaitable[None]]


class StreamAborted(Exception):
    """The stream ended early; `reason` says why in words fit for the client, `status` is what the
    stream's summary record says (every transport records the same), `status_code` the HTTP status
    of a client not answered yet."""

    status = "error"
    status_code = 500

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class UpstreamFailed(StreamAborted):
    """The upstream stream failed (or could not be opened: then `status_code` is the upstream's)."""

    status = "upstream_error"
    status_code = 502

    def __init__(self, reason: str, status_code: int = 502) -> None:
        super().__init__(reason)
        self.status_code = status_code


class ClientGone(StreamAborted):
    """The receiving side went away; nothing more can be sent."""

    status = "disconnected"


class StreamTimeout(StreamAborted):
    """No input within the idle timeout, or the stream outlived its total timeout."""

    status = "timeout"
    status_code = 504


class PeerBrokeProtocol(StreamAborted):
    """The door's peer broke the door's stream protocol (a malformed frame, say)."""

    status = "protocol_error"
    status_code = 400


class PolicyFailed(StreamAborted):
    """The policy raised while producing output."""


class StreamRejected(StreamAborted):
    """The policy refused the stream (`PolicyRejection`); the client gets `status_code`."""

    status = "rejected"

    def __init__(self, reason: str, status_code: int) -> None:
        super().__init__(reason)
        self.status_code = status_code


class PolicyStream:
    """Runs chunks through `policy`, appending output to the stream context as it goes."""

    def __init__(
        self,
        policy: LuthienPolicy,
        recorder: CallRecorder,
        context: StreamContextStore,
        *,
        stream_id: str,
        request: dict[str, Any],
        policy_state: PolicyState,
        dialect: Dialect,
        policy_record: dict[str, str] | None = None,
        recorded_request: dict[str, Any] | None = None,
    ) -> None:
        # The policy sees the request as sent (a resampling protocol sends it again); the record is
        # redacted (`recorded_request`: already, by the request hook that let it through).
        found = identity_of({"data": request})
        self.ids = CallIdentity(found.call_id or stream_id, found.trace_id)
        self.call_id: str = self.ids.call_id or stream_id
        self.policy = policy
        #: Which policy (name, version, rule) runs the stream, for its summary record.
        self.policy_record = policy_record
        self.dialect = dialect
        self.recorder = recorder
        self.context = context
        self.started = time.perf_counter()
        #: Wall-clock start and the times of the first input, last input and first output chunk
        #: (as published): what the summary says of the upstream's and the client's timing.
        self._started_at = time.time()
        self._first_original_at: float | None = None
        self._last_original_at: float | None = None
        self._first_final_at: float | None = None
        self.original_parts: list[str] = []
        self.final_parts: list[str] = []
        self._unrecorded: list[list[Any]] = []
        #: The last original chunk (index, bytes) and its redacted record body, reused by a final
        #: chunk equal to it so a pass-through stream redacts each chunk once.
        self._last_original: tuple[int, bytes] | None = None
        self._last_recorded: orjson.Fragment | None = None
        self._decision_sink = recorder.decision_sink(self.ids, STREAM_HOOK)
        self.ctx = PolicyContext(
            call_id=self.call_id,
            trace_id=self.ids.trace_id,
            raw_request=request,
            state=policy_state,
            _read_text=self.accumulated_text,
            _decisions=self._record_decision,
            _decode=dialect.decode_request,
        )
        recorder.record(
            HOOK_RECORD_PREFIX + STREAM_HOOK,
            self.ids,
            {
                "hook": STREAM_HOOK,
                "stream_id": stream_id,
                "payload": redact(request) if recorded_request is None else recorded_request,
                **dialect_field(dialect),
            },
        )

    async def run(self, chunks: AsyncIterator[Chunk], send: Send) -> None:
        """Drive the policy over `chunks`; raises a `StreamAborted` subclass if the stream cannot finish."""
        # A policy that polices streams sees every tool call whole and canonical, and what it yields
        # is what the client gets; one that leaves streams alone passes them as the model sent them.
        observed = self._observe(chunks)
        policed = overrides(self.policy, "on_stream")
        output = police_stream(self.policy, observed, self.ctx, self.dialect) if policed else observed
        try:
            async for chunk in output:
                index = self.ctx.chunks_sent
                self.ctx.chunks_sent += 1
                if policed:
                    encoded = orjson.dumps(chunk)
                    text = self.dialect.frame_text(chunk)
                    same = (index, encoded) == self._last_original
                else:  # the very chunk `_observe` just encoded and read, untouched since: reuse that
                    assert self._last_original is not None
                    encoded, text, same = self._last_original[1], self.original_parts[-1], True
                self.final_parts.append(text)
                self.context.append(self.call_id, text)
                self._record_chunk("final_chunk", index, encoded, same_as_original=same)
                try:
                    await send(encoded)
                except Exception as exc:
                    raise ClientGone(f"client went away: {type(exc).__name__}") from exc
        except StreamAborted:
            raise
        except MalformedToolCall as exc:
            raise UpstreamFailed(
                f"the model's stream is not a valid {self.dialect.name} stream: {exc}"
            ) from exc
        except PolicyRejection as rejection:
            raise StreamRejected(rejection.message, rejection.status_code) from rejection
        except Exception as exc:
            raise PolicyFailed(
                f"policy {type(self.policy).__name__} failed: {type(exc).__name__}: {exc}"
            ) from exc
        finally:
            await close_iterator(output)

    async def _observe(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
        async for chunk in _attributed(chunks):
            index = self.ctx.chunks_received
            self.ctx.chunks_received += 1
            self.original_parts.append(self.dialect.frame_text(chunk))
            encoded = orjson.dumps(chunk)
            self._last_original = (index, encoded)
            self._record_chunk("original_chunk", index, encoded)
            yield chunk

    def _record_chunk(
        self, kind: EventType, index: int, encoded: bytes, same_as_original: bool = False
    ) -> None:
        """Publish the chunk now; record it with its neighbours in the next `stream:chunks` batch.

        A final chunk byte-for-byte equal to the original chunk of the same index (a policy that
        passes the stream through) is recorded without its body, `[kind, index, at]`: replay takes
        the original's. That halves what a pass-through stream writes.
        """
        if same_as_original and self._last_recorded is not None:
            chunk = self._last_recorded
        else:
            chunk = orjson.Fragment(redact_encoded(encoded))
            if kind == "original_chunk":
                self._last_recorded = chunk
        at = self.recorder.publish(kind, self.ids, STREAM_HOOK, {"index": index, "chunk": chunk})
        if kind == "original_chunk":  # an attribute write a chunk: the stream's timing for free
            self._last_original_at = at
            if index == 0:
                self._first_original_at = at
        elif index == 0:
            self._first_final_at = at
        self._unrecorded.append([kind, index, at] if same_as_original else [kind, index, at, chunk])
        if len(self._unrecorded) >= CHUNK_BATCH or at - self._unrecorded[0][2] >= CHUNK_BATCH_SECONDS:
            self._record_chunks()

    def _record_decision(self, decision: dict[str, Any]) -> None:
        # Chunks published before the decision are recorded before it, so a replay keeps the order.
        self._record_chunks()
        self._decision_sink(decision)

    def _record_chunks(self) -> None:
        # One row per batch instead of one per chunk: per-chunk rows cost more than the policy.
        if self._unrecorded:
            self.recorder.record(
                STREAM_CHUNKS_TYPE, self.ids, {"hook": STREAM_HOOK, "chunks": self._unrecorded}
            )
            self._unrecorded = []

    async def accumulated_text(self) -> str:
        """The final text so far, from the stream context; from this process's copy if that fails
        (Redis down must not break policing)."""
        try:
            return await self.context.get_text(self.call_id)
        except Exception as exc:
            logger.warning("stream context unavailable for %s, using the local copy: %s", self.call_id, exc)
            return "".join(self.final_parts)

    def _since_start(self, at: float | None) -> float | None:
        return None if at is None else round((at - self._started_at) * 1000, 3)

    async def finish(self, status: str, error: str | None = None) -> None:
        """Record the last chunks, the summary and `request_completed`, then clear the context keys
        (queued for Redis, so the end of a stream never waits on it)."""
        self._record_chunks()
        try:
            # This process's copy of the text the stream context holds: reading it back from Redis
            # would make every stream's end wait behind the Redis queue (seen under load).
            final_text = "".join(self.final_parts)
            summary: dict[str, Any] = {
                "hook": STREAM_HOOK,
                "status": status,
                "error": error,
                "original_text": "".join(self.original_parts),
                "final_text": final_text,
                "chunks_received": self.ctx.chunks_received,
                "chunks_sent": self.ctx.chunks_sent,
                "duration_ms": (time.perf_counter() - self.started) * 1000,
                "first_chunk_ms": self._since_start(self._first_final_at),
                "upstream_first_chunk_ms": self._since_start(self._first_original_at),
                "upstream_ms": self._since_start(self._last_original_at),
            }
            if self.policy_record is not None:
                summary["policy"] = self.policy_record
            self.recorder.record(STREAM_SUMMARY_TYPE, self.ids, redact(summary))
        finally:
            try:
                await self.context.clear(self.call_id)
            except Exception as exc:  # the keys' TTL removes them later
                logger.warning("clearing stream context for %s failed: %s", self.call_id, exc)


async def _attributed(chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
    """The input chunks, with any failure of the source reported as the upstream's, not the policy's."""
    iterator = aiter(chunks)
    while True:
        try:
            chunk = await anext(iterator)
        except StopAsyncIteration:
            return
        except StreamAborted:
            raise
        except Exception as exc:
            raise UpstreamFailed(f"upstream stream failed: {exc}") from exc
        yield chunk
