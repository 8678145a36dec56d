"""A policy that edits one field of the request (the last message) and keeps what the stream's
policy saw of the request: every other field must reach the upstream exactly as the client sent it.

Loadable by the stack's control plane (`tests.support.edit_policy:EditsLastMessage`, with the
repository on PYTHONPATH).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies import CallContext, LuthienPolicy, StreamContext

SUFFIX = " (edited by the policy)"


class EditsLastMessage(LuthienPolicy):
    def __init__(self) -> None:
        self.stream_requests: list[dict[str, Any]] = []

    async def async_pre_call_hook(self, data: dict[str, Any], ctx: CallContext) -> dict[str, Any] | None:
        messages = list(data["messages"])
        messages[-1] = {**messages[-1], "content": str(messages[-1]["content"]) + SUFFIX}
        return {**data, "messages": messages}

    async def async_post_call_streaming_iterator_hook(
        self, ctx: StreamContext, chunks: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        self.stream_requests.append(ctx.request)
        async for chunk in chunks:
            yield chunk
