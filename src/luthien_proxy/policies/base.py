"""The policy API: `on_request`, `on_response`, `on_stream`, `on_failure`, one `PolicyContext`.

Every door calls these through the pipeline with the neutral model (`luthien_proxy.model`), so a
policy works unchanged on each door and dialect. To refuse a request or response, raise
`PolicyRejection`: the client gets a clear 4xx error in its dialect.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.backends.policy_state import PolicyState
from luthien_proxy.call_scope import caller_of
from luthien_proxy.dialects.openai_chat import decode_request
from luthien_proxy.model import Request, Response, StreamEvent
from luthien_proxy.wire import FAILURE_HOOK, MODERATION_HOOK, PRE_CALL_HOOK, STREAM_HOOK, SUCCESS_HOOK


class PolicyRejection(Exception):
    """Raised by a policy to refuse a call; `message` reaches the client with `status_code`."""

    def __init__(self, message: str, status_code: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


DecisionSink = Callable[[dict[str, Any]], None]


def _discard(decision: dict[str, Any]) -> None:
    return None


@dataclass
class PolicyContext:
    """What a policy knows about the call it is policing, handed to every method by its host.

    `request` is the request as the client sent it (for `on_request`, the one being policed), read
    from `raw_request` (the client's body in its dialect) when first asked for; `state` is the
    configured policy-state backend, shared across calls and instances; `scratch` is this call's own
    space. The stream counters and `accumulated_text` are for `on_stream`.
    """

    call_id: str
    trace_id: str | None
    raw_request: dict[str, Any]
    state: PolicyState
    clock: Callable[[], float] = time.time
    chunks_received: int = 0
    chunks_sent: int = 0
    scratch: dict[str, Any] = field(default_factory=dict[str, Any])
    _read_text: Callable[[], Awaitable[str]] | None = field(default=None, repr=False)
    _decisions: DecisionSink = field(default=_discard, repr=False)
    _decode: Callable[[dict[str, Any]], Request] = field(default=decode_request, repr=False)

    @functools.cached_property
    def request(self) -> Request:
        """The client's request in the neutral model (decoded once, on first use)."""
        return self._decode(self.raw_request)

    @property
    def caller(self) -> str:
        """The tag of the API key that made this call (its ids' namespace, `call_scope`)."""
        return caller_of(self.call_id)

    def record_decision(self, decision: dict[str, Any]) -> None:
        """Record and publish a judgement (scores, action, evidence) as part of this call."""
        self._decisions(decision)

    async def accumulated_text(self) -> str:
        """The final (policed) text sent to the client so far in this call."""
        return await self._read_text() if self._read_text else ""


def overrides(policy: LuthienPolicy, method: str) -> bool:
    """Whether `policy` implements `method` (`on_request`, ...) itself rather than inheriting the
    pass-through default; the pipeline skips what a policy leaves alone."""
    return getattr(type(policy), method, None) is not getattr(LuthienPolicy, method, None)


#: The methods of the policy API before 0.2 (LiteLLM's hook names) and what replaced them.
_RENAMED = {
    PRE_CALL_HOOK: "on_request",
    MODERATION_HOOK: "on_request",
    SUCCESS_HOOK: "on_response",
    FAILURE_HOOK: "on_failure",
    STREAM_HOOK: "on_stream",
}


class LuthienPolicy:
    """Base class for policies; subclasses take their YAML `config` as keyword arguments.

    A policy overrides only the methods it needs; the defaults pass everything through unchanged.
    Responses and streams reach it with every tool call whole and canonical (the pipeline
    assembles them; in a stream each arrives as one `ToolCallEvent`); to refuse, raise
    `PolicyRejection`.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A policy still written against the old names would be silently unpoliced: refuse it.
        super().__init_subclass__(**kwargs)
        old = [name for name in _RENAMED if name in vars(cls)]
        if old:
            renames = ", ".join(f"{name} → {_RENAMED[name]}" for name in old)
            raise TypeError(f"{cls.__name__} uses the old policy API ({renames}); see docs/policies.md")

    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        """Before the model is called: return a replacement request, None to keep it, or raise."""
        return None

    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        """A complete (non-streamed) response: return a replacement, None to keep it, or raise."""
        return None

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        """Yield what the client should receive; output need not match input one to one."""
        async for event in events:
            yield event

    async def on_failure(self, error: str, ctx: PolicyContext) -> None:
        """Observe a call that failed (the upstream or the policy raised); `error` says why."""
        return None

    def sends_to_audit(self) -> bool:
        """Whether this policy may hold calls for a person (`luthien up` then makes an admin key)."""
        return False

    async def audit_budget(self, state: PolicyState) -> dict[str, Any] | None:
        """The audit budget of this window (`{"used", "limit", "window_s"}`) for the audit queue's
        view; None when the policy sends nothing to audit."""
        return None

    async def held_sessions(self, state: PolicyState) -> list[dict[str, Any]]:
        """Sessions (traces or keys) held for their summed suspicion, or recently cleared."""
        return []

    async def clear_session(
        self, state: PolicyState, trace_id: str | None, key: str | None, by: str, comment: str | None
    ) -> list[dict[str, Any]]:
        """Clear the held session of `trace_id` (and of the key `key`): its suspicion restarts from
        0; returns the cleared sessions (none: nothing was held)."""
        return []

    async def aclose(self) -> None:
        """Release what the policy holds (background tasks); called at shutdown."""
        return None
