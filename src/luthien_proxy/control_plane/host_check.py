"""`HostCheck`: refuses requests whose `Host` is neither a loopback name nor an allowed one.

DNS rebinding points a name the attacker controls at 127.0.0.1, so a page the user visits can call
the control plane as same-origin; the browser still sends the attacker's name as `Host`. Refusing
unknown names before any route runs closes that door, including on an instance without an admin key.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from luthien_proxy.settings import Settings
from luthien_proxy.web.responses import JSONBody
from luthien_proxy.wire import CLOSE_POLICY_VIOLATION

_WILDCARD_BINDS = ("", "0.0.0.0", "::")
_MAX_REMEMBERED = 256


def host_name(value: str) -> str | None:
    """The name in a `Host` value (`name`, `name:port`, `[v6]:port`), lower case; None if malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest[0] == ":" and rest[1:].isdigit())):
            return None
        return name or None
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    return name.rstrip(".") or None


def is_loopback_name(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def allowed_host_names(settings: Settings) -> tuple[str, ...]:
    """`LUTHIEN_ALLOWED_HOSTS` plus the names the server is bound to, so a non-loopback bind serves
    the clients that reach it by that address (a wildcard bind: by this machine's host name)."""
    bound = (socket.gethostname(),) if settings.host in _WILDCARD_BINDS else (settings.host,)
    return (*settings.allowed_hosts, *bound)


class HostCheck:
    """Pure ASGI wrapper: 421 for HTTP (a refused handshake for WebSockets) with a foreign `Host`."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] = ()) -> None:
        self.app = app
        allowed = tuple(allowed)
        self.allow_any = "*" in allowed
        self.allowed = frozenset(name for name in map(host_name, allowed) if name)
        # Raw Host values already accepted: the hot path is one dict lookup.
        self._accepted: dict[bytes, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.allow_any:
            raw = b""
            for name, value in scope["headers"]:
                if name == b"host":
                    raw = value
                    break
            if raw not in self._accepted and not self._accepts(raw):
                await self._refuse(scope, receive, send, raw)
                return
        await self.app(scope, receive, send)

    def _accepts(self, raw: bytes) -> bool:
        name = host_name(raw.decode("latin-1"))
        if name is None or not (name in self.allowed or is_loopback_name(name)):
            return False
        if len(self._accepted) < _MAX_REMEMBERED:
            self._accepted[raw] = True
        return True

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, raw: bytes) -> None:
        if scope["type"] == "websocket":
            await send(
                {"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION, "reason": "Host not allowed"}
            )
            return
        shown = raw.decode("latin-1")[:100]
        detail = (
            f"Host {shown!r} is not served here: only loopback names (localhost, 127.0.0.1, [::1]) "
            "and the names in LUTHIEN_ALLOWED_HOSTS are"
            if shown
            else "the request has no Host header"
        )
        await JSONBody({"detail": detail}, status_code=421 if shown else 400)(scope, receive, send)
