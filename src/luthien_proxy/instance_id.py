"""Proof that a health answer comes from this run's child, not from whatever else holds the port.

`luthien up` gives each child a random id in `INSTANCE_ENV`; the child's health route echoes it in
`INSTANCE_HEADER`, and the supervisor counts a child healthy only when its own id comes back.
"""

from __future__ import annotations

import os
import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

INSTANCE_ENV = "LUTHIEN_INSTANCE_ID"
INSTANCE_HEADER = "x-luthien-instance"


def new_instance_id() -> str:
    """A fresh id for one child of one run."""
    return secrets.token_hex(16)


def instance_headers() -> dict[str, str]:
    """The header a health answer carries: this process's id, or nothing outside `luthien up`."""
    instance = os.environ.get(INSTANCE_ENV)
    return {INSTANCE_HEADER: instance} if instance else {}


class InstanceHeader:
    """Adds the instance header to the answers of one path of an app whose routes are not ours
    (LiteLLM's `/health/liveliness`); every other request goes straight through."""

    def __init__(self, app: ASGIApp, path: str, instance: str) -> None:
        self.app = app
        self.path = path
        self.header = (INSTANCE_HEADER.encode(), instance.encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return

        async def send_with_header(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), self.header]}
            await send(message)

        await self.app(scope, receive, send_with_header)


def with_instance_header(app: ASGIApp, path: str) -> ASGIApp:
    """`app` with `InstanceHeader` on `path` when this process runs under `luthien up`."""
    instance = os.environ.get(INSTANCE_ENV)
    return InstanceHeader(app, path, instance) if instance else app
