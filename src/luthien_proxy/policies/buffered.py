"""`BufferedStreamPolicy`: holds the whole stream back and releases its text as one delta at the end.

The pattern a policy needs when it must see everything before deciding (e.g. judge the full
answer); also the worst case for time to first token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from luthien_proxy.model import StreamEvent, TextDelta
from luthien_proxy.policies.base import LuthienPolicy, PolicyContext


class BufferedStreamPolicy(LuthienPolicy):
    """Emits the stream's text once, after the input ends; other events keep their place around it."""

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        before: list[StreamEvent] = []
        after: list[StreamEvent] = []
        texts: list[str] = []
        first: TextDelta | None = None
        async for event in events:
            if isinstance(event, TextDelta) and event.text:
                first = first or event
                texts.append(event.text)
            else:
                (after if first else before).append(event)
        for event in before:
            yield event
        if first is not None:
            yield TextDelta("".join(texts), first.choice)
        for event in after:
            yield event
