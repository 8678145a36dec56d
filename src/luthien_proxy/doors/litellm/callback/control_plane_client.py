"""HTTP client for the control plane's hook API, one keep-alive connection pool per process.

The read timeout (`LUTHIEN_CONTROL_PLANE_TIMEOUT`) is per read: a policy still at work (a call held
for audit) answers late, sending a space every few seconds, so only a silent control plane times out.
"""

from __future__ import annotations

from typing import Any

import httpx
import orjson

from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.errors import ControlPlaneError, PolicyRejected
from luthien_proxy.http_client import LoopBoundClient
from luthien_proxy.wire import (
    DECISION_HEADER,
    DECISION_REJECT,
    HOOKS_PATH,
    LATE_ANSWER_HEADER,
    LATE_ANSWER_KEY,
)

#: 4xx answers about this proxy rather than the call: a missing/wrong token, or a hook it does not know.
PROXY_REFUSED = frozenset({401, 403, 404, 405})


def _error_message(body: Any) -> str | None:
    """The message of an error body: `{"error": {"message": ...}}` (a policy's rejection) or
    `{"detail": ...}` (FastAPI's, e.g. the 413 for a body over the limit)."""
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    message = error.get("message") if isinstance(error, dict) else body.get("detail")
    return message if isinstance(message, str) and message else None


def _refusal(status: int, decision: str, body: Any, hook_name: str) -> PolicyRejected | ControlPlaneError:
    """What a 4xx answer means: a refusal of this call, which the client gets as is, unless it
    refuses this proxy itself (a wrong token or an unknown hook), which is a deployment error."""
    if decision.lower() == DECISION_REJECT:
        return PolicyRejected(status, _error_message(body) or "Request rejected by Luthien policy")
    if status in PROXY_REFUSED:
        return ControlPlaneError(
            502,
            f"Luthien control plane refused this proxy (HTTP {status} for {hook_name}): "
            "check LUTHIEN_PROXY_TOKEN",
        )
    reason = _error_message(body) or f"HTTP {status}"
    return PolicyRejected(status, f"Luthien refused the call: {reason}")


def _loads(content: bytes) -> Any:
    try:
        return orjson.loads(content)
    except orjson.JSONDecodeError:
        return _INVALID


_INVALID = object()


def _answer(response: httpx.Response, hook_name: str) -> tuple[int, str, Any]:
    """(status, decision header, parsed body) of an answer; a late one (spaces while the policy
    worked, then the wrapped answer) unwrapped."""
    status, body = response.status_code, _loads(response.content)
    if status != 200 or not response.headers.get(LATE_ANSWER_HEADER):
        return status, response.headers.get(DECISION_HEADER, ""), body
    late = body.get(LATE_ANSWER_KEY) if isinstance(body, dict) else None
    if not isinstance(late, dict) or not isinstance(late.get("status_code"), int):
        raise ControlPlaneError(502, f"Luthien control plane sent an invalid late answer for {hook_name}")
    decision = late.get("decision")
    return late["status_code"], decision if isinstance(decision, str) else "", late.get("body")


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
                f"{HOOKS_PATH}/{hook_name}",
                content=orjson.dumps(body),
                headers={"content-type": "application/json"},
            )
        except httpx.TimeoutException:
            raise ControlPlaneError(
                504,
                f"Luthien control plane timed out after {self._config.timeout_s:g}s ({hook_name})",
                unreachable=True,
            ) from None
        except httpx.TransportError as exc:  # refused, reset, closed mid-answer: no answer at all
            where = self._config.control_plane_url
            raise ControlPlaneError(
                503, f"Luthien control plane unreachable at {where}: {type(exc).__name__}", unreachable=True
            ) from None
        except httpx.HTTPError as exc:  # an answer httpx could not read (bad encoding, ...)
            raise ControlPlaneError(
                502, f"Luthien control plane sent an unreadable answer for {hook_name}: {type(exc).__name__}"
            ) from None
        status, decision, result = _answer(response, hook_name)
        if 400 <= status < 500:
            raise _refusal(status, decision, result, hook_name)
        if status != 200:
            raise ControlPlaneError(502, f"Luthien control plane answered HTTP {status} for {hook_name}")
        if result is _INVALID:
            raise ControlPlaneError(502, f"Luthien control plane sent invalid JSON for {hook_name}")
        if not isinstance(result, dict):
            raise ControlPlaneError(502, f"Luthien control plane sent a non-object for {hook_name}")
        return result

    async def aclose(self) -> None:
        """Close the connection pool (tests and shutdown)."""
        await self.http.aclose()
