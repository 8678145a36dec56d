"""A policy loaded from its YAML behind the live `Pipeline`, on in-memory backends.

Each call goes through `Pipeline.police_request`, then `Pipeline.police_response` (or, for a
stream, `Pipeline.stream`) in its dialect, as the native door runs it: the same decoding, policy
code, redaction and decision recording as live traffic. Only the backends differ: the recorder
keeps each call's records in memory instead of queueing them for a database, and the policy state
and stream context are the embedded ones, so nothing needs a database or Redis. The policy's alert
webhooks are left out (an evaluation must not page anyone); they decide nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from luthien_proxy.backends.events.model import EventType
from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.backends.stream_context import InProcessStreamContext
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.openai_chat import OPENAI_CHAT
from luthien_proxy.pipeline import CallRecorder, Pipeline
from luthien_proxy.pipeline.derived_events import DECISION_TYPE
from luthien_proxy.pipeline.identity import CallIdentity
from luthien_proxy.policies import PolicyHost, policy_from_mapping
from luthien_proxy.policies.loader import read_policy_document

Json = dict[str, Any]


class MemoryRecorder(CallRecorder):
    """Keeps each call's decisions in memory (the live recorder queues records for the store and
    publishes events; an evaluation needs only the decisions back)."""

    def __init__(self) -> None:  # no writer, no bus: `record` and `publish` are replaced
        self.decisions: defaultdict[str, list[Json]] = defaultdict(list)

    def record(self, debug_type: str, ids: CallIdentity, body: dict[str, Any]) -> None:
        if debug_type == DECISION_TYPE and ids.call_id:
            self.decisions[ids.call_id].append(body["decision"])

    def publish(self, kind: EventType, ids: CallIdentity, hook: str, payload: dict[str, Any]) -> float:
        return time.time()

    def take(self, call_id: str) -> list[Json]:
        """The decisions recorded on `call_id`, forgotten here."""
        return self.decisions.pop(call_id, [])


@dataclass(frozen=True)
class Policed:
    """One call's outcome: the response released (None: the call was refused, failed, or was a
    stream, whose output is not kept), its decisions, its wall time, and why it was stopped, if it
    was."""

    released: Json | None
    decisions: list[Json]
    latency_ms: float
    #: The `PolicyRejection`'s message when the policy refused the call (the client gets a 4xx);
    #: no decision record holds it.
    rejection: str | None = None
    #: Why the pipeline raised, or a stream ended otherwise (the client got an error; nothing ran).
    error: str | None = None


def without_alerts(document: Any) -> Any:
    """`document` with every `alerts` section of a policy config (chain members' too) removed."""
    if isinstance(document, dict):
        return {k: without_alerts(v) for k, v in document.items() if k != "alerts"}
    if isinstance(document, list):
        return [without_alerts(item) for item in document]
    return document


class PolicyHarness:
    """The policy of one YAML file behind a live `Pipeline`; close it with `aclose`."""

    def __init__(self, path: Path, host: PolicyHost | None = None) -> None:
        document = without_alerts(read_policy_document(path))
        self.path = path
        self.policy = policy_from_mapping(document, source=str(path), host=host or PolicyHost.from_process())
        self.recorder = MemoryRecorder()
        self.pipeline = Pipeline(
            self.policy,
            self.recorder,
            InProcessStreamContext(),
            InProcessPolicyState(),
            stream_idle_timeout_s=300,
            stream_total_timeout_s=3600,
        )

    async def police(
        self,
        ids: CallIdentity,
        request: Json,
        response: Json | None = None,
        *,
        chunks: list[Json] | None = None,
        dialect: Dialect = OPENAI_CHAT,
        request_policed: bool = False,
    ) -> Policed:
        """Run one call through the pipeline in `dialect`, as the native door does: `request` through
        `police_request` (skipped when `request_policed`: it is what a response was policed with),
        then the model's answer: `response` through `police_response`, or a stream's `chunks`
        through `Pipeline.stream` (neither: the request alone). A refusal at any step stops the
        call and releases nothing (`rejection`); so does an exception, named in `error`."""
        started = time.perf_counter()
        rejection = error = None
        released: Any = None
        try:
            rejection, released = await self._run(ids, request, response, chunks, dialect, request_policed)
        except Exception as exc:  # live, the door answers an error: the call is not run
            error = f"{type(exc).__name__}: {exc}"[:300]
        latency_ms = (time.perf_counter() - started) * 1000
        decisions = self.recorder.take(ids.call_id or "")
        return Policed(
            released if isinstance(released, dict) else None, decisions, latency_ms, rejection, error
        )

    async def _run(
        self,
        ids: CallIdentity,
        request: Json,
        response: Json | None,
        chunks: list[Json] | None,
        dialect: Dialect,
        request_policed: bool,
    ) -> tuple[str | None, Any]:
        """(the rejection's message, the released response) of one call; raises what the pipeline
        raised, and for a stream that ended otherwise than as a success or a rejection."""
        if not request_policed:
            asked = await self.pipeline.police_request(ids, request, dialect)
            if asked.rejection is not None:
                return asked.rejection.message, None
            data = (asked.result or {}).get("data")
            request = data if isinstance(data, dict) else request
        if response is not None:
            answered = await self.pipeline.police_response(ids, request, response, dialect)
            if answered.rejection is not None:
                return answered.rejection.message, None
            return None, (answered.result or {}).get("response")
        if chunks is None:
            return None, None
        async with self.pipeline.stream(
            ids.call_id or "", request, source="the recorded stream", dialect=dialect
        ) as stream:
            end = await stream.run(_aiter(chunks), _discard)
        if end.status == "rejected":
            return end.error or "", None
        if end.status != "success":
            raise RuntimeError(end.error or end.status)
        return None, None

    async def aclose(self) -> None:
        await self.policy.aclose()


async def _aiter(chunks: list[Json]) -> AsyncIterator[Json]:
    for chunk in chunks:
        yield chunk


async def _discard(_encoded: bytes) -> None:
    """A policed stream's output goes nowhere: its decisions say what the client would get."""
