"""HTTP client for the control plane's hook API, one keep-alive connection pool per process."""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from luthien_proxy.http_client import LoopBoundClient
from luthien_proxy.proxy.callback_config import CallbackConfig
from luthien_proxy.proxy.errors import ControlPlaneError, PolicyRejected

DECISION_HEADER = "x-luthien-decision"


def _rejection_message(response: httpx.Response) -> str:
    try:
        error = orjson.loads(response.content).get("error", {})
        message = error.get("message") if isinstance(error, dict) else None
    except (orjson.JSONDecodeError, AttributeError):
        message = None
    return message if isinstance(message, str) and message else "Request rejected by Luthien policy"


class ControlPlaneClient:
    """Posts hook payloads to `/api/hooks/{hook}` and classifies the answer."""

    def __init__(self, config: CallbackConfig, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._config = config
        self._transport = transport  # tests inject an ASGI transport; production uses the network
        self.http = LoopBoundClient(self._new_client)

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._config.control_plane_url.rstrip("/"),
            timeout=self._config.timeout_s,
            headers=self._config.auth_headers(),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=60),
            trust_env=False,
            transport=self._transport,
        )

    async def call_hook(self, hook_name: str, body: dict[str, Any]) -> dict[str, Any]:
        """Return the (possibly modified) payload; raise PolicyRejected or ControlPlaneError."""
        try:
            response = await self.http.get().post(
                f"/api/hooks/{hook_name}",
                content=orjson.dumps(body),
                headers={"content-type": "application/json"},
            )
        except httpx.TimeoutException:
            raise ControlPlaneError(
                504, f"Luthien control plane timed out after {self._config.timeout_s:g}s ({hook_name})"
            ) from None
        except httpx.HTTPError as exc:
            where = self._config.control_plane_url
            raise ControlPlaneError(
                503, f"Luthien control plane unreachable at {where}: {type(exc).__name__}"
            ) from None
        status = response.status_code
        if 400 <= status < 500 and response.headers.get(DECISION_HEADER, "").lower() == "reject":
            raise PolicyRejected(status, _rejection_message(response))
        if status != 200:
            raise ControlPlaneError(502, f"Luthien control plane answered HTTP {status} for {hook_name}")
        try:
            result = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise ControlPlaneError(502, f"Luthien control plane sent invalid JSON for {hook_name}") from None
        if not isinstance(result, dict):
            raise ControlPlaneError(502, f"Luthien control plane sent a non-object for {hook_name}")
        return result

    async def aclose(self) -> None:
        """Close the connection pool (tests and shutdown)."""
        await self.http.aclose()
