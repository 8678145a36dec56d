"""Request-scoped accessors for what the lifespan put on `app.state`, and the proxy-token guard."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Request, WebSocket

from luthien_proxy.control_plane.services import ControlPlaneServices
from luthien_proxy.wire import PROXY_TOKEN_HEADER


def get_services(request: Request) -> ControlPlaneServices:
    return request.app.state.services


def require_proxy_token(request: Request) -> None:
    """Hook and stream endpoints accept only the proxy when `LUTHIEN_PROXY_TOKEN` is set."""
    expected = get_services(request).settings.proxy_token
    if expected is None:
        return
    supplied = request.headers.get(PROXY_TOKEN_HEADER, "")
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise HTTPException(401, detail=f"missing or wrong {PROXY_TOKEN_HEADER} header")


def proxy_allowed(websocket: WebSocket, services: ControlPlaneServices) -> bool:
    """The WebSocket form of `require_proxy_token`: whether the peer presented the proxy token."""
    expected = services.settings.proxy_token
    if expected is None:
        return True
    supplied = websocket.headers.get(PROXY_TOKEN_HEADER, "")
    return hmac.compare_digest(supplied.encode(), expected.encode())
