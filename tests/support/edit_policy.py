"""A policy that edits one field of the request (the last message) and keeps what the stream's
policy saw of the request: every other field must reach the upstream exactly as the client sent it.

Loadable by the stack's control plane (`tests.support.edit_policy:EditsLastMessage`, with the
repository on PYTHONPATH).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies import LuthienPolicy, PolicyContext

SUFFIX = " (edited by the policy)"


class EditsLastMessage(LuthienPolicy):
    def __init__(self) -> None:
        self.stream_requests: list[dict[str, Any]] = []

    async def on_request(self, request: dict[str, Any], ctx: PolicyContext) -> dict[str, Any] | None:
        messages = list(request["messages"])
        messages[-1] = {**messages[-1], "content": str(messages[-1]["content"]) + SUFFIX}
        return {**request, "messages": messages}

    async def on_stream(
        self, chunks: AsyncIterator[dict[str, Any]], ctx: PolicyContext
    ) -> AsyncIterator[dict[str, Any]]:
        self.stream_requests.append(ctx.request)
        async for chunk in chunks:
            yield chunk
