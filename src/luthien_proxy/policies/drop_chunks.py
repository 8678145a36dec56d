"""`DropChunksPolicy`: removes streamed text whose piece matches a pattern."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

from luthien_proxy.model import ReasoningDelta, StreamEvent, TextDelta
from luthien_proxy.policies.base import LuthienPolicy, PolicyContext


class DropChunksPolicy(LuthienPolicy):
    """Drops every streamed text delta whose text matches `pattern` (a Python regular expression)."""

    def __init__(self, pattern: str) -> None:
        try:
            self.pattern = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression: {exc}") from None

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in events:
            if isinstance(event, TextDelta | ReasoningDelta) and self.pattern.search(event.text):
                ctx.scratch["dropped"] = ctx.scratch.get("dropped", 0) + 1
                continue
            yield event
