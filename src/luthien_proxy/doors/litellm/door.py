"""What the LiteLLM door's control-plane routes get from their host: the pipeline, the proxy token
and the limits — nothing else of the control plane (`app.state.litellm_door`)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from fastapi import HTTPException, Request, WebSocket

from luthien_proxy.pipeline import Pipeline
from luthien_proxy.wire import PROXY_TOKEN_HEADER


@dataclass
class LiteLLMDoor:
    """The door's dependencies and its one piece of state: how many callbacks hold a link now."""

    pipeline: Pipeline
    proxy_token: str | None
    max_body_bytes: int
    link_max_streams: int
    #: How often a stream socket or a late hook answer says "still working" while the policy is
    #: quiet: well inside the callback's `LUTHIEN_CONTROL_PLANE_TIMEOUT`, so a held call lives on.
    keepalive_s: float = 2.0
    #: LiteLLM callbacks connected over `/api/link` right now (see link_routes); shown by /health.
    proxy_links: int = 0

    def admits(self, supplied: str) -> bool:
        """Whether `supplied` is the proxy token (always, when none is configured)."""
        if self.proxy_token is None:
            return True
        return hmac.compare_digest(supplied.encode(), self.proxy_token.encode())


def litellm_door(request: Request) -> LiteLLMDoor:
    return request.app.state.litellm_door


def require_proxy_token(request: Request) -> None:
    """Hook endpoints accept only the proxy when `LUTHIEN_PROXY_TOKEN` is set."""
    if not litellm_door(request).admits(request.headers.get(PROXY_TOKEN_HEADER, "")):
        raise HTTPException(401, detail=f"missing or wrong {PROXY_TOKEN_HEADER} header")


def proxy_allowed(websocket: WebSocket, door: LiteLLMDoor) -> bool:
    """The WebSocket form of `require_proxy_token`: whether the peer presented the proxy token."""
    return door.admits(websocket.headers.get(PROXY_TOKEN_HEADER, ""))
