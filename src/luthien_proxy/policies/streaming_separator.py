"""`StreamingSeparatorPolicy`: marks chunk boundaries in a stream, to make chunking visible."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies.base import LuthienPolicy, PolicyContext
from luthien_proxy.policies.chunks import chunk_text, map_chunk_text


class StreamingSeparatorPolicy(LuthienPolicy):
    """Appends `separator_str` to every `every_n`-th text chunk of a stream."""

    def __init__(self, every_n: int = 1, separator_str: str = " | ") -> None:
        if not isinstance(every_n, int) or every_n < 1:
            raise ValueError(f"every_n must be a whole number >= 1, got {every_n!r}")
        if not isinstance(separator_str, str):
            raise ValueError(f"separator_str must be a string, got {separator_str!r}")
        self.every_n = every_n
        self.separator_str = separator_str

    async def on_stream(
        self, chunks: AsyncIterator[dict[str, Any]], ctx: PolicyContext
    ) -> AsyncIterator[dict[str, Any]]:
        text_chunks = 0
        async for chunk in chunks:
            if chunk_text(chunk):
                text_chunks += 1
                if text_chunks % self.every_n == 0:
                    chunk = map_chunk_text(chunk, lambda text: text + self.separator_str)
            yield chunk
