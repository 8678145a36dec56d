"""`SuspicionLedger`: per-trace suspicion history and an audit budget, kept in `ctx.policy_state`.

Keys (all under the policy-state prefix, all with a TTL so an abandoned trace leaves nothing behind):
`protocols:{protocol}:trace:{trace}:scores` (list of recent scores),
`protocols:{protocol}:trace:{trace}:total` (sum of scores) and
`protocols:{protocol}:audits:{window}` (audits requested in the current budget window).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from luthien_proxy.policy_state import PolicyState


@dataclass(frozen=True)
class Escalation:
    """Once a trace's summed suspicion reaches `after_total`, its threshold drops to `threshold`."""

    after_total: float
    threshold: float

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Escalation | None:
        if not config:
            return None
        try:
            escalation = cls(float(config["after_total"]), float(config["threshold"]))
        except (KeyError, TypeError, ValueError):
            raise ValueError("escalation needs numeric 'after_total' and 'threshold'") from None
        if escalation.after_total <= 0 or not 0 <= escalation.threshold <= 1:
            raise ValueError("escalation.after_total must be > 0 and escalation.threshold in [0, 1]")
        return escalation


@dataclass(frozen=True)
class TraceStanding:
    """A trace's accumulated suspicion and the threshold that applies to its next call."""

    total: float
    threshold: float
    escalated: bool


class SuspicionLedger:
    """Reads and updates one protocol's shared state."""

    def __init__(
        self,
        protocol: str,
        *,
        escalation: Escalation | None,
        audit_budget: int | None,
        audit_window_seconds: int,
        ttl_seconds: int,
    ) -> None:
        if ttl_seconds <= 0 or audit_window_seconds <= 0:
            raise ValueError("state_ttl_seconds and audit_window_seconds must be > 0")
        if audit_budget is not None and audit_budget < 0:
            raise ValueError("audit_budget must be >= 0")
        self.protocol = protocol
        self.escalation = escalation
        self.audit_budget = audit_budget
        self.audit_window_seconds = audit_window_seconds
        self.ttl_seconds = ttl_seconds

    def _trace_key(self, trace: str, part: str) -> str:
        return f"protocols:{self.protocol}:trace:{trace}:{part}"

    async def standing(self, state: PolicyState, trace: str, threshold: float) -> TraceStanding:
        """The trace's suspicion so far and the (possibly escalated) threshold for its next call."""
        total = float(await state.get(self._trace_key(trace, "total")) or 0.0)
        if self.escalation and total >= self.escalation.after_total:
            return TraceStanding(total, min(threshold, self.escalation.threshold), True)
        return TraceStanding(total, threshold, False)

    async def add(self, state: PolicyState, trace: str, call_id: str, score: float) -> float:
        """Record one score for the trace; returns the new total."""
        await state.push(
            self._trace_key(trace, "scores"),
            {"call_id": call_id, "score": score, "at": time.time()},
            max_items=50,
            ttl_seconds=self.ttl_seconds,
        )
        return await state.increment(self._trace_key(trace, "total"), score, ttl_seconds=self.ttl_seconds)

    async def history(self, state: PolicyState, trace: str) -> list[Any]:
        return await state.items(self._trace_key(trace, "scores"))

    async def request_audit(self, state: PolicyState) -> tuple[bool, int | None]:
        """Spend one audit from this window's budget; returns (granted, remaining)."""
        if self.audit_budget is None:
            return True, None
        window = int(time.time() // self.audit_window_seconds)
        used = await state.increment(
            f"protocols:{self.protocol}:audits:{window}", 1.0, ttl_seconds=self.audit_window_seconds * 2
        )
        return used <= self.audit_budget, max(self.audit_budget - int(used), 0)
