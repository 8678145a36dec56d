"""`ChainPolicy`: serial composition — policies applied in order for every method, streams included.

Request hooks pass each policy's rewritten request to the next; response hooks likewise; for a
stream, the output iterator of one policy is the input of the next. A rejection anywhere stops
the chain (it propagates as usual).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.backends.policy_state import PolicyState
from luthien_proxy.model import Request, Response, StreamEvent
from luthien_proxy.policies import LuthienPolicy, PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.policies.loader import policy_from_mapping


class ChainPolicy(LuthienPolicy):
    """Runs `policies` (each `{class: "module:Class", config: {...}}`) one after the other; the
    members share the chain's host."""

    def __init__(self, policies: list[dict[str, Any]], *, host: PolicyHost) -> None:
        if not isinstance(policies, list) or not policies:
            raise ValueError("policies must be a non-empty list of {class, config} mappings")
        self.host = host
        self.policies = [
            policy_from_mapping({"policy": entry}, source=f"chain entry {index}", host=host)
            for index, entry in enumerate(policies)
        ]

    async def aclose(self) -> None:
        """Close every member (pending alerts finish), then the shared host's HTTP client."""
        for policy in self.policies:
            await policy.aclose()
        await self.host.aclose()

    def sends_to_audit(self) -> bool:
        return any(policy.sends_to_audit() for policy in self.policies)

    async def audit_budget(self, state: PolicyState) -> dict[str, Any] | None:
        """The first member's that audits."""
        for policy in self.policies:
            budget = await policy.audit_budget(state)
            if budget is not None:
                return budget
        return None

    async def held_sessions(self, state: PolicyState) -> list[dict[str, Any]]:
        return [session for policy in self.policies for session in await policy.held_sessions(state)]

    async def clear_session(
        self, state: PolicyState, trace_id: str | None, key: str | None, by: str, comment: str | None
    ) -> list[dict[str, Any]]:
        cleared = []
        for policy in self.policies:
            cleared += await policy.clear_session(state, trace_id, key, by, comment)
        return cleared

    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        changed = False
        for policy in self.policies:
            result = await policy.on_request(request, ctx)
            if result is not None:
                request, changed = result, True
        return request if changed else None

    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        changed = False
        for policy in self.policies:
            result = await policy.on_response(response, ctx)
            if result is not None:
                response, changed = result, True
        return response if changed else None

    async def on_failure(self, error: str, ctx: PolicyContext) -> None:
        for policy in self.policies:
            await policy.on_failure(error, ctx)

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        stream = events
        for policy in self.policies:
            stream = policy.on_stream(stream, ctx)
        try:
            async for event in stream:
                yield event
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
