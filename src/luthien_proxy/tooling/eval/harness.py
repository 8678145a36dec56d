"""A policy loaded from its YAML behind the live `Pipeline`, on in-memory backends.

Each call goes through `Pipeline.police_request` and `Pipeline.police_response`, as the native
door runs a non-streamed call: the same decoding, policy code, redaction and decision recording as
live traffic. Only the backends differ: the recorder keeps each call's records in memory instead of
queueing them for a database, and the policy state and stream context are the embedded ones, so
nothing needs a database or Redis. The policy's alert webhooks are left out (an evaluation must
not page anyone); they decide nothing.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from luthien_proxy.backends.events.model import EventType
from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.backends.stream_context import InProcessStreamContext
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
    """One call's outcome: the response released (None: the policy refused the call, a
    `PolicyRejection`, which the client gets as a 4xx), its decisions, its wall time."""

    released: Json | None
    decisions: list[Json]
    latency_ms: float


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

    async def police(self, ids: CallIdentity, request: Json, response: Json) -> Policed:
        """Run one call through the pipeline as the native door does a non-streamed one: the
        request through `police_request`, then `response` to the policed request through
        `police_response`. A refusal at either step releases nothing."""
        started = time.perf_counter()
        asked = await self.pipeline.police_request(ids, request)
        released: Any = None
        if asked.rejection is None:
            data = (asked.result or {}).get("data")
            policed = data if isinstance(data, dict) else request
            answered = await self.pipeline.police_response(ids, policed, response)
            released = None if answered.rejection else (answered.result or {}).get("response")
        latency_ms = (time.perf_counter() - started) * 1000
        decisions = self.recorder.take(ids.call_id or "")
        return Policed(released if isinstance(released, dict) else None, decisions, latency_ms)

    async def aclose(self) -> None:
        await self.policy.aclose()
