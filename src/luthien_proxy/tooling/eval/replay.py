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
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.dialects.registry import UnknownDialect, dialect_named
from luthien_proxy.pipeline.identity import CallIdentity
from luthien_proxy.tooling.eval.actions import action_of, strongest
from luthien_proxy.tooling.eval.harness import PolicyHarness
from luthien_proxy.tooling.eval.recorded import RecordedCall

Json = dict[str, Any]
Progress = Callable[[int, int], None]

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
        action = action_of(decision)
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
            strongest(a for a in (known.action if known else None, action) if a is not None),
            _max(known.score if known else None, score),
            (known.reason if known else None) or (str(reason) if reason else None),
        )
        calls[call["id"]] = merged
    return Verdict(strongest(actions), calls, error)


def _max(a: float | None, b: float | None) -> float | None:
    return b if a is None else a if b is None else max(a, b)


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
        unreplayed = _answer_not_replayed(call)
        policed = await self.harness.police(
            CallIdentity(call.call_id, call.trace_id),
            call.request or call.response_request or {},
            None if unreplayed or call.streamed else call.response,
            chunks=None if unreplayed else call.chunks,
            dialect=dialect,
            # Without a pre-call record, the request on record is the one the answer was policed with.
            request_policed=call.request is None,
        )
        decisions = policed.decisions
        if policed.rejection is not None:  # no decision record holds a rejection
            decisions = [*decisions, {"action": "reject", "reason": policed.rejection}]
        # A refusal or an error ends the call where it was: nothing of it was left out.
        stopped = policed.rejection is not None or policed.error is not None
        verdict = verdict_of(decisions, policed.error)
        return ReplayedCall(call, recorded, verdict, skipped=None if stopped else unreplayed)


def _answer_not_replayed(call: RecordedCall) -> str | None:
    """Why the call's answer cannot be replayed (only its request then is), or None when it can."""
    if not call.answered:
        return "no answer on record"
    if call.streamed and call.status not in _REPLAYABLE_STREAM_ENDS:
        return f"the recorded stream ended: {call.status}"
    return None


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
