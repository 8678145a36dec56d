"""A policy that edits one field of the request (the last message) and keeps what the stream's
policy saw of the request: every other field must reach the upstream exactly as the client sent it.

Loadable by the stack's control plane (`tests.support.edit_policy:EditsLastMessage`, with the
repository on PYTHONPATH).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from luthien_proxy.model import Request, StreamEvent, Text
from luthien_proxy.policies import LuthienPolicy, PolicyContext

SUFFIX = " (edited by the policy)"


class EditsLastMessage(LuthienPolicy):
    def __init__(self) -> None:
        self.stream_requests: list[dict[str, Any]] = []

    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        messages = list(request.messages)
        last = messages[-1]
        messages[-1] = last.with_parts(
            [replace(p, text=p.text + SUFFIX) if isinstance(p, Text) else p for p in last.parts]
        )
        return request.with_messages(messages)

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        self.stream_requests.append(ctx.raw_request)
        async for event in events:
            yield event
