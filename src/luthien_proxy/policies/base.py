"""The policy interface: typed hooks mirroring LiteLLM's proxy hooks, plus a streaming method.

A policy overrides only the hooks it cares about; the defaults pass everything through unchanged.
To refuse a request or response, raise `PolicyRejection`: the client gets a clear 4xx error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.call_scope import caller_of
from luthien_proxy.policy_state import InProcessPolicyState, PolicyState


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
class CallContext:
    """What a policy knows about the call a hook belongs to, and where it keeps shared state."""

    call_id: str
    trace_id: str | None
    hook: str
    policy_state: PolicyState = field(default_factory=InProcessPolicyState)
    _decisions: DecisionSink = field(default=_discard, repr=False)

    @property
    def caller(self) -> str:
        """The tag of the API key that made this call (its ids' namespace, `call_scope`)."""
        return caller_of(self.call_id)

    def record_decision(self, decision: dict[str, Any]) -> None:
        """Record and publish a judgement (scores, action, evidence) as part of this call."""
        self._decisions(decision)


@dataclass
class StreamContext:
    """Per-stream state handed to a streaming policy; `state` is the policy's own scratch space."""

    stream_id: str
    call_id: str
    trace_id: str | None
    request: dict[str, Any]
    chunks_received: int = 0
    chunks_sent: int = 0
    state: dict[str, Any] = field(default_factory=dict[str, Any])
    policy_state: PolicyState = field(default_factory=InProcessPolicyState)
    _read_text: Callable[[], Awaitable[str]] | None = field(default=None, repr=False)
    _decisions: DecisionSink = field(default=_discard, repr=False)

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


def overrides(policy: LuthienPolicy, hook: str) -> bool:
    """Whether `policy` implements `hook` itself rather than inheriting the pass-through default."""
    return getattr(type(policy), hook, None) is not getattr(LuthienPolicy, hook, None)


class LuthienPolicy:
    """Base class for policies; subclasses take their YAML `config` as keyword arguments."""

    async def async_pre_call_hook(self, data: dict[str, Any], ctx: CallContext) -> dict[str, Any] | None:
        """Return a modified request, None to keep it, or raise `PolicyRejection`."""
        return None

    async def async_moderation_hook(self, data: dict[str, Any], ctx: CallContext) -> None:
        """Runs alongside the model call; raise `PolicyRejection` to refuse the request."""
        return None

    async def async_post_call_success_hook(
        self, data: dict[str, Any], response: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any] | None:
        """Return a replacement response, None to keep it, or raise `PolicyRejection`."""
        return None

    async def async_post_call_failure_hook(self, data: dict[str, Any], error: str, ctx: CallContext) -> None:
        """Observe a failed call (the upstream or another hook raised)."""
        return None

    async def async_post_call_streaming_iterator_hook(
        self, ctx: StreamContext, chunks: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        """Yield what the client should receive; output need not match input one to one."""
        async for chunk in chunks:
            yield chunk

    async def aclose(self) -> None:
        """Release what the policy holds (HTTP clients, background tasks); called at shutdown."""
        return None
