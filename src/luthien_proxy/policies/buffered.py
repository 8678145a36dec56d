"""`BufferedStreamPolicy`: holds the whole stream back and releases it as one chunk at the end.

The pattern a policy needs when it must see everything before deciding (e.g. judge the full
answer); also the worst case for time to first token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies.base import LuthienPolicy, PolicyContext
from luthien_proxy.policies.chunks import chunk_text, text_chunk_like


class BufferedStreamPolicy(LuthienPolicy):
    """Emits the stream's text once, after the input ends; chunks without text keep their place."""

    async def on_stream(
        self, chunks: AsyncIterator[dict[str, Any]], ctx: PolicyContext
    ) -> AsyncIterator[dict[str, Any]]:
        before: list[dict[str, Any]] = []
        after: list[dict[str, Any]] = []
        parts: list[str] = []
        template: dict[str, Any] | None = None
        async for chunk in chunks:
            text = chunk_text(chunk)
            if text:
                template = template or chunk
                parts.append(text)
            else:
                (after if template else before).append(chunk)
        for chunk in before:
            yield chunk
        if template is not None:
            yield text_chunk_like(template, "".join(parts))
        for chunk in after:
            yield chunk
