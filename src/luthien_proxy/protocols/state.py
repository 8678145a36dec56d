"""`SuspicionLedger`: per-(key, trace) suspicion history and an audit budget, in `ctx.state`.

A trace id is the client's choice but lives in its API key's namespace (`call_scope`), so a caller
can neither join nor raise another key's trace. Keys (all under the policy-state prefix, all with a
TTL so an abandoned trace leaves nothing behind):
`protocols:{protocol}:trace:{trace}:scores` (list of recent scores),
`protocols:{protocol}:trace:{trace}:total` (sum of scores),
`protocols:{protocol}:caller:{tag}:total:{window}` (the key's sum over every trace in the current
`state_ttl_seconds` window: starting a new trace does not reset it) and
`protocols:{protocol}:audits:{window}` (audits requested in the current budget window),
`protocols:{protocol}:session:trace:{trace}` / `...:session:key:{tag}` (a session held by
`audit.session`: its marker, flagged or cleared) and `protocols:{protocol}:sessions` (their index).
Windows and timestamps come from the host's clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from luthien_proxy.backends.policy_state import PolicyState

if TYPE_CHECKING:
    from luthien_proxy.policies import PolicyContext


@dataclass(frozen=True)
class Escalation:
    """Once a trace's summed suspicion reaches `after_total` (or, with `caller_after_total`, its
    key's sum over all its traces reaches that), the trace's threshold drops to `threshold`."""

    after_total: float
    threshold: float
    caller_after_total: float | None = None

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> Escalation | None:
        if not config:
            return None
        try:
            caller = config.get("caller_after_total")
            escalation = cls(
                float(config["after_total"]),
                float(config["threshold"]),
                None if caller is None else float(caller),
            )
        except (KeyError, TypeError, ValueError):
            raise ValueError(
                "escalation needs numeric 'after_total' and 'threshold' (and 'caller_after_total' if set)"
            ) from None
        if escalation.after_total <= 0 or not 0 <= escalation.threshold <= 1:
            raise ValueError("escalation.after_total must be > 0 and escalation.threshold in [0, 1]")
        if escalation.caller_after_total is not None and escalation.caller_after_total <= 0:
            raise ValueError("escalation.caller_after_total must be > 0")
        return escalation

    def applies(self, trace_total: float, caller_total: float) -> bool:
        by_caller = self.caller_after_total is not None and caller_total >= self.caller_after_total
        return trace_total >= self.after_total or by_caller


SESSION_THEN: Final = ("audit", "stop")
SESSION_INDEX_ITEMS: Final = 200


@dataclass(frozen=True)
class SessionRule:
    """`audit.session`: once a trace's summed suspicion reaches `after_total` (or its key's sum over
    all its traces reaches `caller_after_total`), every further tool call of that trace (or key)
    goes to audit (`then: audit`) or is blocked (`then: stop`) until a person clears the session."""

    after_total: float | None
    caller_after_total: float | None
    then: str

    @classmethod
    def from_config(cls, config: Any) -> SessionRule | None:
        if config is None:
            return None
        if not isinstance(config, dict):
            raise ValueError("audit.session must be a mapping {after_total, caller_after_total, then}")
        unknown = set(config) - {"after_total", "caller_after_total", "then"}
        if unknown:
            raise ValueError(f"audit.session has unknown keys: {', '.join(sorted(unknown))}")
        levels = [config.get("after_total"), config.get("caller_after_total")]
        if all(level is None for level in levels) or not all(
            level is None or (isinstance(level, int | float) and level > 0) for level in levels
        ):
            raise ValueError("audit.session needs 'after_total' and/or 'caller_after_total', numbers > 0")
        then = config.get("then", "audit")
        if then not in SESSION_THEN:
            raise ValueError(f"audit.session.then must be one of {SESSION_THEN}, got {then!r}")
        after, caller = (None if level is None else float(level) for level in levels)
        return cls(after, caller, then)


@dataclass(frozen=True)
class TraceKey:
    """Whose suspicion: the caller's key tag and the trace (the call itself when it has none)."""

    caller: str
    trace: str

    @classmethod
    def of(cls, ctx: PolicyContext) -> TraceKey:
        return cls(ctx.caller, ctx.trace_id or ctx.call_id)


@dataclass(frozen=True)
class TraceStanding:
    """A trace's accumulated suspicion and the threshold that applies to its next call."""

    total: float
    threshold: float
    escalated: bool
    #: The key's sum over all its traces this window (0 unless something counts keys).
    caller_total: float = 0.0


class SuspicionLedger:
    """Reads and updates one protocol's shared state."""

    def __init__(
        self,
        protocol: str,
        *,
        clock: Callable[[], float],
        escalation: Escalation | None,
        session: SessionRule | None = None,
        audit_budget: int | None,
        audit_window_seconds: int,
        ttl_seconds: int,
    ) -> None:
        if ttl_seconds <= 0 or audit_window_seconds <= 0:
            raise ValueError("state_ttl_seconds and audit_window_seconds must be > 0")
        if audit_budget is not None and audit_budget < 0:
            raise ValueError("audit_budget must be >= 0")
        self.protocol = protocol
        self.clock = clock
        self.escalation = escalation
        self.session = session
        self.audit_budget = audit_budget
        self.audit_window_seconds = audit_window_seconds
        self.ttl_seconds = ttl_seconds

    def _trace_key(self, key: TraceKey, part: str) -> str:
        # The trace id is already in its key's namespace (`call_scope`): one key per (key, trace).
        return f"protocols:{self.protocol}:trace:{key.trace}:{part}"

    def _caller_key(self, key: TraceKey) -> str:
        window = int(self.clock() // self.ttl_seconds)
        return f"protocols:{self.protocol}:caller:{key.caller}:total:{window}"

    @property
    def _by_caller(self) -> bool:
        by_session = self.session is not None and self.session.caller_after_total is not None
        return by_session or (self.escalation is not None and self.escalation.caller_after_total is not None)

    async def standing(self, state: PolicyState, key: TraceKey, threshold: float) -> TraceStanding:
        """The trace's suspicion so far and the (possibly escalated) threshold for its next call."""
        total = float(await state.get(self._trace_key(key, "total")) or 0.0)
        caller_total = float(await state.get(self._caller_key(key)) or 0.0) if self._by_caller else 0.0
        if self.escalation and self.escalation.applies(total, caller_total):
            return TraceStanding(total, min(threshold, self.escalation.threshold), True, caller_total)
        return TraceStanding(total, threshold, False, caller_total)

    async def add(self, state: PolicyState, key: TraceKey, call_id: str, score: float) -> float:
        """Record one score for the trace (and its key, when escalation counts keys); returns the
        trace's new total."""
        await state.push(
            self._trace_key(key, "scores"),
            {"call_id": call_id, "score": score, "at": self.clock()},
            max_items=50,
            ttl_seconds=self.ttl_seconds,
        )
        if self._by_caller:
            await state.increment(self._caller_key(key), score, ttl_seconds=self.ttl_seconds * 2)
        return await state.increment(self._trace_key(key, "total"), score, ttl_seconds=self.ttl_seconds)

    async def history(self, state: PolicyState, key: TraceKey) -> list[Any]:
        return await state.items(self._trace_key(key, "scores"))

    def _audits_key(self) -> str:
        return f"protocols:{self.protocol}:audits:{int(self.clock() // self.audit_window_seconds)}"

    async def budget_status(self, state: PolicyState) -> dict[str, Any]:
        """This window's audits: `used` (at most `limit`), `limit` (None: unlimited), `window_s`."""
        used = int(float(await state.get(self._audits_key()) or 0.0))
        if self.audit_budget is not None:
            used = min(used, self.audit_budget)
        return {"used": used, "limit": self.audit_budget, "window_s": self.audit_window_seconds}

    async def request_audit(self, state: PolicyState) -> tuple[bool, int | None]:
        """Spend one audit from this window's budget; returns (granted, remaining)."""
        if self.audit_budget is None:
            return True, None
        used = await state.increment(self._audits_key(), 1.0, ttl_seconds=self.audit_window_seconds * 2)
        return used <= self.audit_budget, max(self.audit_budget - int(used), 0)

    # Session suspicion (`audit.session`): a marker per held trace or key, listed through an index.

    def _session_key(self, scope: str, ident: str) -> str:
        return f"protocols:{self.protocol}:session:{scope}:{ident}"

    async def held_session(
        self, state: PolicyState, key: TraceKey, standing: TraceStanding
    ) -> dict[str, Any] | None:
        """The session marker holding this trace (its sum, or its key's, reached the rule's level
        before this call; each flagged now if it was not yet); None when the session is not held."""
        rule = self.session
        if rule is None:
            return None
        holding = None
        for scope, ident, total, level in (
            ("trace", key.trace, standing.total, rule.after_total),
            ("key", key.caller, standing.caller_total, rule.caller_after_total),
        ):
            if level is None or total < level:
                continue
            marker_key = self._session_key(scope, ident)
            marker = await state.get(marker_key)
            if not isinstance(marker, dict) or marker.get("status") != "flagged":
                marker = {
                    "protocol": self.protocol,
                    "scope": scope,
                    "trace_id": key.trace,
                    "key": key.caller,
                    "level": level,
                    "since": self.clock(),
                    "status": "flagged",
                }
                await state.push(
                    f"protocols:{self.protocol}:sessions",
                    [scope, ident],
                    max_items=SESSION_INDEX_ITEMS,
                    ttl_seconds=self.ttl_seconds * 2,
                )
            marker = {**marker, "total": total}
            await state.set(marker_key, marker, ttl_seconds=self.ttl_seconds)
            holding = holding or marker
        return holding

    async def sessions(self, state: PolicyState) -> list[dict[str, Any]]:
        """The sessions held (or cleared) recently, newest first, each with its current total."""
        seen: set[tuple[str, str]] = set()
        found = []
        for entry in reversed(await state.items(f"protocols:{self.protocol}:sessions")):
            scope, ident = entry
            if (scope, ident) in seen:
                continue
            seen.add((scope, ident))
            marker = await state.get(self._session_key(scope, ident))
            if isinstance(marker, dict):
                found.append({**marker, "total": await self._session_total(state, scope, marker)})
        return found

    async def _session_total(self, state: PolicyState, scope: str, marker: dict[str, Any]) -> float:
        key = TraceKey(str(marker["key"]), str(marker["trace_id"]))
        total_key = self._trace_key(key, "total") if scope == "trace" else self._caller_key(key)
        return float(await state.get(total_key) or 0.0)

    async def clear_session(
        self, state: PolicyState, trace: str | None, caller: str | None, by: str, comment: str | None
    ) -> list[dict[str, Any]]:
        """Clear the held sessions of `trace` and (given) of the key `caller`: their sums restart
        from 0 and their markers say who cleared them, when and why. Returns the cleared markers."""
        cleared = []
        for scope, ident in (("trace", trace), ("key", caller)):
            if ident is None:
                continue
            marker_key = self._session_key(scope, ident)
            marker = await state.get(marker_key)
            if not isinstance(marker, dict) or marker.get("status") != "flagged":
                continue
            key = TraceKey(str(marker["key"]), str(marker["trace_id"]))
            total_key = self._trace_key(key, "total") if scope == "trace" else self._caller_key(key)
            ttl = self.ttl_seconds if scope == "trace" else self.ttl_seconds * 2
            await state.set(total_key, 0.0, ttl_seconds=ttl)
            marker = {
                **marker,
                "status": "cleared",
                "total": 0.0,
                "cleared_by": by,
                "cleared_at": self.clock(),
                "comment": comment,
            }
            await state.set(marker_key, marker, ttl_seconds=self.ttl_seconds)
            cleared.append(marker)
        return cleared
