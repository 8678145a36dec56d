"""Policy replay: a candidate policy run over recorded calls, and where it would have decided otherwise.

Each recorded call (`eval.recorded`) goes through the candidate behind the live `Pipeline`
(`eval.harness`): its request through `police_request`, then the recorded answer through
`police_response` in the call's recorded dialect, or, for a stream, its recorded chunks through
`Pipeline.stream` — the same code a live call runs. Calls are replayed one at a time in the order
they started, with their recorded call and trace ids, so per-trace suspicion builds up as it did
live. Nothing is written to the database the calls were read from: the harness keeps the
candidate's records in memory. The candidate's judge (and trusted or untrusted models) are called
as its YAML configures them; its alert webhooks are not.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.registry import UnknownDialect, dialect_named
from luthien_proxy.pipeline.identity import CallIdentity
from luthien_proxy.tooling.eval.harness import PolicyHarness
from luthien_proxy.tooling.eval.recorded import RecordedCall

Json = dict[str, Any]
Progress = Callable[[int, int], None]

#: A recorded decision's `action` as the action the client saw (the `luthien eval` vocabulary);
#: `judge` carries a score, `resample_exhausted` is followed by its fallback's own decision.
ACTION_OF = {
    "allow": "allow",
    "block": "block",
    "reject": "block",
    "defer_to_trusted": "defer",
    "edit": "edit",
    "resample": "resample",
    "audit": "audit",
}
#: When decisions on one call disagree, the one that stopped the most wins.
STRENGTH = {"allow": 0, "audit": 1, "resample": 2, "edit": 3, "defer": 4, "block": 5}
#: Recorded stream ends whose chunks are the whole answer (a stream cut short is not replayed).
_REPLAYABLE_STREAM_ENDS = (None, "success", "rejected")


@dataclass(frozen=True)
class ToolVerdict:
    """What one policy did to one proposed tool call."""

    id: str
    name: str
    arguments: str
    action: str
    score: float | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Verdict:
    """What one policy did to one call: the strongest action, and per tool call."""

    action: str
    tool_calls: dict[str, ToolVerdict] = field(default_factory=dict[str, ToolVerdict])
    error: str | None = None

    def of(self, call_id: str) -> ToolVerdict | None:
        return self.tool_calls.get(call_id)


@dataclass(frozen=True)
class ReplayedCall:
    """One recorded call beside the candidate's decision on it."""

    call: RecordedCall
    recorded: Verdict
    candidate: Verdict | None
    #: Why the call was not (fully) replayed, when it was not.
    skipped: str | None = None

    @property
    def differs(self) -> bool:
        if self.candidate is None:
            return False
        if self.candidate.action != self.recorded.action:
            return True
        ids = self.recorded.tool_calls.keys() | self.candidate.tool_calls.keys()
        return any(_action(self.recorded, i) != _action(self.candidate, i) for i in ids)

    def tool_rows(self) -> list[tuple[ToolVerdict, str, str]]:
        """Each tool call with its recorded and candidate action, in the order first decided on."""
        seen = {**self.recorded.tool_calls, **(self.candidate.tool_calls if self.candidate else {})}
        return [
            (call, _action(self.recorded, i), _action(self.candidate, i) if self.candidate else "")
            for i, call in seen.items()
        ]


def _action(verdict: Verdict, call_id: str) -> str:
    """A tool call's action; one nothing decided on was released as it was, unless the whole call
    was stopped (a rejection has no per-call decision)."""
    found = verdict.of(call_id)
    if found is not None:
        return found.action
    return verdict.action if verdict.action == "block" else "allow"


def verdict_of(decisions: list[Json], error: str | None = None) -> Verdict:
    """A call's verdict from the decisions recorded on it (none: allowed, as it came)."""
    calls: dict[str, ToolVerdict] = {}
    actions = ["block"] if error else []
    for decision in decisions:
        action = ACTION_OF.get(str(decision.get("action")))
        if action is not None:
            actions.append(action)
        call = decision.get("tool_call")
        if not isinstance(call, dict) or not isinstance(call.get("id"), str):
            continue
        known = calls.get(call["id"])
        score = decision.get("score")
        score = float(score) if isinstance(score, int | float) and not isinstance(score, bool) else None
        reason = decision.get("rule") or decision.get("reason")
        merged = ToolVerdict(
            call["id"],
            str(call.get("name") or ""),
            str(call.get("arguments") or ""),
            _stronger(known.action if known else None, action),
            _max(known.score if known else None, score),
            (known.reason if known else None) or (str(reason) if reason else None),
        )
        calls[call["id"]] = merged
    action = max(actions, key=STRENGTH.__getitem__, default="allow")
    return Verdict(action, calls, error)


def _stronger(known: str | None, action: str | None) -> str:
    candidates = [a for a in (known, action) if a is not None]
    return max(candidates, key=STRENGTH.__getitem__, default="allow")


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


async def _chunks(chunks: list[Json]) -> AsyncIterator[Json]:
    for chunk in chunks:
        yield chunk


async def _discard(_encoded: bytes) -> None:
    """The replayed stream's output goes nowhere: the decisions say what the client would get."""


class Replayer:
    """Runs recorded calls through one candidate policy's harness, in order."""

    def __init__(self, harness: PolicyHarness) -> None:
        self.harness = harness

    async def replay(self, call: RecordedCall) -> ReplayedCall:
        """The candidate's verdict on `call` beside the recorded one."""
        recorded = verdict_of(call.decisions)
        try:
            dialect = dialect_named(call.dialect)
        except UnknownDialect as exc:
            return ReplayedCall(call, recorded, None, skipped=str(exc))
        if call.request is None and call.response_request is None:
            return ReplayedCall(call, recorded, None, skipped="no request on record")
        extra: list[Json] = []
        skipped = error = None
        try:
            extra, skipped = await self._police(call, dialect)
        except Exception as exc:  # live, the client would have got an error: nothing ran
            error = f"{type(exc).__name__}: {exc}"[:300]
        decisions = [*self.harness.recorder.take(call.call_id), *extra]
        return ReplayedCall(call, recorded, verdict_of(decisions, error), skipped=skipped)

    async def _police(self, call: RecordedCall, dialect: Dialect) -> tuple[list[Json], str | None]:
        """Run the call's request, then its recorded answer, through the pipeline; returns the
        rejections (which no decision record holds) and why the call went no further, if it did not."""
        pipeline = self.harness.pipeline
        ids = CallIdentity(call.call_id, call.trace_id)
        request = call.request or call.response_request or {}
        if call.request is not None:
            asked = await pipeline.police_request(ids, call.request, dialect)
            if asked.rejection is not None:
                return [_rejection(asked.rejection.message)], None
            request = (asked.result or {}).get("data") or request
        if not call.answered:
            return [], "no answer on record"
        if call.streamed and call.status not in _REPLAYABLE_STREAM_ENDS:
            return [], f"the recorded stream ended: {call.status}"
        if not call.streamed:
            answered = await pipeline.police_response(ids, request, call.response or {}, dialect)
            return ([] if answered.rejection is None else [_rejection(answered.rejection.message)]), None
        async with pipeline.stream(
            call.call_id, request, source="the recorded stream", dialect=dialect
        ) as stream:
            end = await stream.run(_chunks(call.chunks or []), _discard)
        if end.status == "rejected":
            return [_rejection(end.error or "")], None
        if end.status != "success":
            raise RuntimeError(end.error or end.status)
        return [], None


def _rejection(message: str) -> Json:
    return {"action": "reject", "reason": message}


@dataclass(frozen=True)
class ReplayReport:
    """Every recorded call read, replayed under the policy at `policy`."""

    policy: str
    calls: list[ReplayedCall]

    @property
    def differing(self) -> list[ReplayedCall]:
        return [c for c in self.calls if c.differs]

    def totals(self) -> Json:
        replayed = [c for c in self.calls if c.candidate is not None]
        changes = Counter(
            f"{c.recorded.action} -> {c.candidate.action}" for c in self.differing if c.candidate is not None
        )
        return {
            "calls": len(self.calls),
            "replayed": len(replayed),
            "skipped": sum(1 for c in self.calls if c.skipped),
            "differing": len(self.differing),
            "recorded": dict(Counter(c.recorded.action for c in replayed)),
            "candidate": dict(Counter(c.candidate.action for c in replayed if c.candidate)),
            "changes": dict(changes),
        }


async def replay_calls(
    harness: PolicyHarness, calls: list[RecordedCall], *, progress: Progress | None = None
) -> ReplayReport:
    """Replay `calls` (in order, one at a time: a trace's suspicion depends on its earlier calls)."""
    replayer = Replayer(harness)
    results = []
    for done, call in enumerate(calls, start=1):
        results.append(await replayer.replay(call))
        if progress is not None:
            progress(done, len(calls))
    return ReplayReport(str(harness.path), results)
