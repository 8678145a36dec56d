"""`AllCapsPolicy`: upper-cases every response, streamed or not — the visible proof a policy ran."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies.base import CallContext, LuthienPolicy, StreamContext
from luthien_proxy.policies.chunks import map_chunk_text, map_response_text


def _upper(text: str) -> str:
    return text.upper()


class AllCapsPolicy(LuthienPolicy):
    """Upper-cases the model's text content."""

    async def async_post_call_success_hook(
        self, data: dict[str, Any], response: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any] | None:
        return map_response_text(response, _upper)

    async def async_post_call_streaming_iterator_hook(
        self, ctx: StreamContext, chunks: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        async for chunk in chunks:
            yield map_chunk_text(chunk, _upper)
