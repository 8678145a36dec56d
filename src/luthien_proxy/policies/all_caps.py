"""`AllCapsPolicy`: upper-cases every response, streamed or not — the visible proof a policy ran."""

from __future__ import annotations

from collections.abc import AsyncIterator

from luthien_proxy.model import ReasoningDelta, Response, StreamEvent, TextDelta
from luthien_proxy.policies.base import LuthienPolicy, PolicyContext


class AllCapsPolicy(LuthienPolicy):
    """Upper-cases the model's text (and reasoning)."""

    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        return response.map_text(str.upper)

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in events:
            yield (
                event.with_text(event.text.upper())
                if isinstance(event, TextDelta | ReasoningDelta)
                else event
            )
