"""`AllCapsPolicy`: upper-cases every response, streamed or not — the visible proof a policy ran."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies.base import LuthienPolicy, PolicyContext
from luthien_proxy.policies.chunks import map_chunk_text, map_response_text


def _upper(text: str) -> str:
    return text.upper()


class AllCapsPolicy(LuthienPolicy):
    """Upper-cases the model's text content."""

    async def on_response(self, response: dict[str, Any], ctx: PolicyContext) -> dict[str, Any] | None:
        return map_response_text(response, _upper)

    async def on_stream(
        self, chunks: AsyncIterator[dict[str, Any]], ctx: PolicyContext
    ) -> AsyncIterator[dict[str, Any]]:
        async for chunk in chunks:
            yield map_chunk_text(chunk, _upper)
