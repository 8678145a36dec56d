"""`DropChunksPolicy`: removes stream chunks whose text matches a pattern."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies.base import LuthienPolicy, PolicyContext
from luthien_proxy.policies.chunks import chunk_text


class DropChunksPolicy(LuthienPolicy):
    """Drops every streamed chunk whose text matches `pattern` (a Python regular expression)."""

    def __init__(self, pattern: str) -> None:
        try:
            self.pattern = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"pattern is not a valid regular expression: {exc}") from None

    async def on_stream(
        self, chunks: AsyncIterator[dict[str, Any]], ctx: PolicyContext
    ) -> AsyncIterator[dict[str, Any]]:
        async for chunk in chunks:
            text = chunk_text(chunk)
            if text and self.pattern.search(text):
                ctx.scratch["dropped"] = ctx.scratch.get("dropped", 0) + 1
                continue
            yield chunk
