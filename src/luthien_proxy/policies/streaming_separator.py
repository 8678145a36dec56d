"""`StreamingSeparatorPolicy`: marks chunk boundaries in a stream, to make chunking visible."""

from __future__ import annotations

from collections.abc import AsyncIterator

from luthien_proxy.model import StreamEvent, TextDelta
from luthien_proxy.policies.base import LuthienPolicy, PolicyContext


class StreamingSeparatorPolicy(LuthienPolicy):
    """Appends `separator_str` to every `every_n`-th text delta of a stream."""

    def __init__(self, every_n: int = 1, separator_str: str = " | ") -> None:
        if not isinstance(every_n, int) or every_n < 1:
            raise ValueError(f"every_n must be a whole number >= 1, got {every_n!r}")
        if not isinstance(separator_str, str):
            raise ValueError(f"separator_str must be a string, got {separator_str!r}")
        self.every_n = every_n
        self.separator_str = separator_str

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        text_deltas = 0
        async for event in events:
            if isinstance(event, TextDelta) and event.text:
                text_deltas += 1
                if text_deltas % self.every_n == 0:
                    event = event.with_text(event.text + self.separator_str)
            yield event
