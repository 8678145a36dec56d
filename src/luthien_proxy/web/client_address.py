"""Which address a request comes from: the TCP peer, never a header it chose, unless
`LUTHIEN_TRUSTED_PROXIES` names the peer as a proxy whose `X-Forwarded-For` is to be believed.

uvicorn trusts forwarded headers from 127.0.0.1 by default, so any local process (or anything
relayed through one) could pick its own address; `server_forwarding` turns that off.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from luthien_proxy.settings import Settings


def server_forwarding(settings: Settings) -> dict[str, Any]:
    """The uvicorn options for forwarded headers: honoured only from the configured proxies."""
    if not settings.trusted_proxies:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}


def client_address(connection: HTTPConnection) -> str:
    """The address limits are keyed on (uvicorn has applied `server_forwarding` to it)."""
    return connection.client.host if connection.client else "unknown"
