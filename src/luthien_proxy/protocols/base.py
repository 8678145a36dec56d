"""`ToolCallProtocol`: the shared skeleton of every monitor-based control protocol.

Both response paths come here: a non-streamed response's tool calls are judged in the post-call
hook, a stream's calls are held by `guard_stream` until complete. Each call is scored by the
monitor (the judge model's `TrustedMonitor`, or the model-free `CommandMonitor` with `monitor:
{kind: command}`); if none is above the (possibly escalated) threshold they are released as they
are, otherwise the subclass's `on_suspicious` decides what the client gets instead. With `audit:`
configured, the calls it selects are first held for a person (`protocols.audit`) within the audit
budget; what the budget cannot cover goes to `on_suspicious`. With `audit.session`, a trace (or key)
whose summed suspicion reached the level has every further call held (or blocked) until cleared.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

from luthien_proxy.backends.policy_state import PolicyState
from luthien_proxy.model import Request, Response, StreamEvent
from luthien_proxy.policies import LuthienPolicy, PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.alerts import AlertSender
from luthien_proxy.protocols.audit import AuditSection, decision_record, released_call
from luthien_proxy.protocols.guard import guard_stream
from luthien_proxy.protocols.monitor import Judgement
from luthien_proxy.protocols.monitors import monitor_from_config
from luthien_proxy.protocols.state import Escalation, SuspicionLedger, TraceKey, TraceStanding
from luthien_proxy.protocols.toolcalls import Outcome, ToolCall, apply_to_response

DEFAULT_BLOCK_MESSAGE = "[luthien] A proposed tool call was blocked by the control protocol."


@dataclass(frozen=True)
class Review:
    """Everything known about one suspicious response when the protocol decides what to do."""

    calls: list[ToolCall]
    judgements: list[Judgement]
    request: Request
    ctx: PolicyContext
    standing: TraceStanding
    #: Judgements suspicious whatever their score (held for audit, the budget could not cover them).
    forced: tuple[Judgement, ...] = ()

    def flagged(self) -> list[Judgement]:
        forced = {id(j) for j in self.forced}
        return [j for j in self.judgements if j.score > self.standing.threshold or id(j) in forced]

    def max_score(self) -> float:
        return max((j.score for j in self.judgements), default=0.0)


class ToolCallProtocol(LuthienPolicy):
    """Judges every proposed tool call; subclasses say what replaces a suspicious response."""

    protocol: ClassVar[str] = "protocol"

    def __init__(
        self,
        monitor: dict[str, Any] | None = None,
        threshold: float = 0.7,
        block_message: str = DEFAULT_BLOCK_MESSAGE,
        alerts: dict[str, Any] | None = None,
        escalation: dict[str, Any] | None = None,
        audit_budget: int | None = None,
        audit_window_seconds: int = 3600,
        state_ttl_seconds: int = 3600,
        audit: dict[str, Any] | None = None,
        *,
        host: PolicyHost,
    ) -> None:
        if not isinstance(threshold, int | float) or not 0 <= threshold <= 1:
            raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
        if not isinstance(block_message, str) or not block_message:
            raise ValueError("block_message must be a non-empty string")
        self.threshold = float(threshold)
        self.block_message = block_message
        self.host = host
        self.monitor = monitor_from_config(monitor, host)
        self.alerts = AlertSender.from_config(alerts, host)
        self.audit = AuditSection.from_config(audit, host) if audit is not None else None
        self.ledger = SuspicionLedger(
            self.protocol,
            clock=host.clock,
            escalation=Escalation.from_config(escalation),
            session=self.audit.session if self.audit is not None else None,
            audit_budget=audit_budget,
            audit_window_seconds=audit_window_seconds,
            ttl_seconds=state_ttl_seconds,
        )

    async def aclose(self) -> None:
        """Finish pending alerts, then close the host's HTTP client (shutdown, tests)."""
        await self.alerts.drain()
        if self.audit is not None:
            await self.audit.notifier.drain()
        await self.host.aclose()

    def sends_to_audit(self) -> bool:
        return self.audit is not None

    async def audit_budget(self, state: PolicyState) -> dict[str, Any] | None:
        return await self.ledger.budget_status(state) if self.audit is not None else None

    async def held_sessions(self, state: PolicyState) -> list[dict[str, Any]]:
        return await self.ledger.sessions(state) if self.ledger.session is not None else []

    async def clear_session(
        self, state: PolicyState, trace_id: str | None, key: str | None, by: str, comment: str | None
    ) -> list[dict[str, Any]]:
        if self.ledger.session is None:
            return []
        return await self.ledger.clear_session(state, trace_id, key, by, comment)

    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        calls = response.tool_calls()
        if not calls:
            return None
        return apply_to_response(response, calls, await self.review(calls, ctx.request, ctx))

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async def decide(calls: list[ToolCall]) -> Outcome:
            return await self.review(calls, ctx.request, ctx)

        async for event in guard_stream(events, decide):
            yield event

    async def judge_all(self, calls: list[ToolCall], request: Request, ctx: PolicyContext) -> list[Judgement]:
        """Score every call concurrently (each judge call recorded by the monitor)."""
        return list(
            await asyncio.gather(*(self.monitor.judge(c, request, ctx, self.protocol) for c in calls))
        )

    async def review(self, calls: list[ToolCall], request: Request, ctx: PolicyContext) -> Outcome:
        """Judge `calls`, update the trace's standing, and decide what the client receives."""
        trace = TraceKey.of(ctx)  # per (API key, trace): `call_scope`
        standing = await self.ledger.standing(ctx.state, trace, self.threshold)
        judgements = await self.judge_all(calls, request, ctx)
        for judgement in judgements:
            await self.ledger.add(ctx.state, trace, ctx.call_id, judgement.score)
        review = Review(calls, judgements, request, ctx, standing)
        session = await self.ledger.held_session(ctx.state, trace, standing)
        if session is not None and self.audit is not None:
            return await self.hold_session(review, self.audit, session)
        if self.ledger.session is not None:  # flagged (listed) as soon as this call crosses the level
            await self.ledger.held_session(ctx.state, trace, await self.ledger.standing(ctx.state, trace, 0))
        if self.audit is not None:
            held = [j for j in judgements if self.audit.selects(j.score, standing.threshold)]
            if held:
                return await self.hold(review, self.audit, held)
        if not review.flagged():
            for judgement in judgements:
                self.record(review, "allow", judgement)
            return Outcome(tool_calls=list(calls))
        return await self.on_suspicious(review)

    async def hold_session(self, review: Review, audit: AuditSection, session: dict[str, Any]) -> Outcome:
        """A held session's call, whatever its score: every call to audit (`then: audit`), or all
        blocked (`then: stop`), the decision saying why."""
        whose = "session" if session["scope"] == "trace" else "key's"
        why = f"{whose} suspicion {session['total']:.3g} ≥ {session['level']:g}: held until cleared"
        if audit.session is not None and audit.session.then == "stop":
            for judgement in review.judgements:
                await self.escalate(review, "block", judgement, reason=why, session=session["scope"])
            return Outcome(text=self.block_message)
        return await self.hold(review, audit, review.judgements, why)

    async def hold(
        self, review: Review, audit: AuditSection, held: list[Judgement], why: str | None = None
    ) -> Outcome:
        """Hold each of `held` for a person (one audit of the budget each) and apply the decisions;
        the other calls, and those the budget (or a missing queue) left unaudited, are reviewed as
        usual, the latter as suspicious whatever their score."""
        decided: dict[int, ToolCall | None] = {}
        unaudited: list[Judgement] = []
        for judgement in held:
            granted, remaining = await self.ledger.request_audit(review.ctx.state)
            if not granted or self.host.audits is None:
                why = "the audit budget is spent" if not granted else "no audit queue on this host"
                self.record(
                    review, "audit_unavailable", judgement, reason=why, audit_budget_remaining=remaining
                )
                unaudited.append(judgement)
        waiting = [j for j in held if j not in unaudited]
        items = await asyncio.gather(*(audit.hold(self.protocol, j, review.ctx, why) for j in waiting))
        for judgement, item in zip(waiting, items, strict=True):
            released = released_call(judgement.call, item)
            review.ctx.record_decision(decision_record(self.protocol, item, judgement.call, released))
            decided[id(judgement)] = released
        rest = [j for j in review.judgements if id(j) not in decided]
        outcome = Outcome()
        if rest:
            others = Review(
                [j.call for j in rest], rest, review.request, review.ctx, review.standing, tuple(unaudited)
            )
            if others.flagged():
                outcome = await self.on_suspicious(others)
            else:
                for judgement in rest:
                    self.record(review, "allow", judgement)
                outcome = Outcome(tool_calls=[j.call for j in rest])
        order = {call.id: n for n, call in enumerate(review.calls)}
        calls = [c for c in decided.values() if c is not None] + outcome.tool_calls
        calls.sort(key=lambda call: order.get(call.id, len(order)))
        denied = self.block_message if any(c is None for c in decided.values()) else None
        texts = [t for t in (denied, outcome.text) if t]
        return Outcome(tool_calls=calls, text="\n\n".join(texts) if texts else None)

    async def on_suspicious(self, review: Review) -> Outcome:
        """Default (trusted monitoring): block the flagged calls, release the rest."""
        flagged = {id(j) for j in review.flagged()}
        released = []
        for judgement in review.judgements:
            if id(judgement) in flagged:
                await self.escalate(review, "block", judgement)
            else:
                self.record(review, "allow", judgement)
                released.append(judgement.call)
        return Outcome(tool_calls=released, text=self.block_message)

    def record(
        self, review: Review, action: str, judgement: Judgement | None, **extra: Any
    ) -> dict[str, Any]:
        """Record one decision on the call, with the standard fields."""
        decision = {
            "protocol": self.protocol,
            "action": action,
            "score": judgement.score if judgement else review.max_score(),
            "threshold": review.standing.threshold,
            "escalated": review.standing.escalated,
            "trace_suspicion": review.standing.total,
            "tool_call": judgement.call.summary() if judgement else None,
            "judge_error": judgement.error if judgement else None,
            **extra,
        }
        review.ctx.record_decision(decision)
        return decision

    async def escalate(self, review: Review, action: str, judgement: Judgement | None, **extra: Any) -> None:
        """Record a blocking decision, spend an audit (unless held calls spend them: `audit:`), and
        alert the webhooks in the background."""
        if self.audit is None:
            granted, remaining = await self.ledger.request_audit(review.ctx.state)
        else:
            granted, remaining = False, None
        decision = self.record(
            review, action, judgement, audit_requested=granted, audit_budget_remaining=remaining, **extra
        )
        alert = {
            **{k: v for k, v in decision.items() if k not in ("samples",)},
            "call_id": review.ctx.call_id,
            "trace_id": review.ctx.trace_id,
            "model": review.request.model,
        }
        self.alerts.send(alert, review.ctx)
