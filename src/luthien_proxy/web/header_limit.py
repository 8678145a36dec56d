"""`HeaderSizeLimit`: refuses requests whose headers exceed a size, before any route runs.

Oversized headers are how a client makes a server buffer and parse more than any real request
needs; answering 431 keeps that cheap.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from luthien_proxy.web.responses import JSONBody
from luthien_proxy.wire import CLOSE_POLICY_VIOLATION

DEFAULT_MAX_HEADER_BYTES = 64 * 1024


class HeaderSizeLimit:
    """Pure ASGI wrapper: 431 for HTTP requests (and refusal for WebSockets) over `max_bytes`."""

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            size = sum(len(name) + len(value) for name, value in scope.get("headers", ()))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, size)
                return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int) -> None:
        if scope["type"] == "websocket":
            await send(
                {"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION, "reason": "headers too large"}
            )
            return
        detail = f"request headers are {size} bytes; the limit is {self.max_bytes}"
        await JSONBody({"detail": detail}, status_code=431)(scope, receive, send)
