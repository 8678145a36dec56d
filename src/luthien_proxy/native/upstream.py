"""`UpstreamClient`: one keep-alive HTTP client to every OpenAI-compatible upstream.

Upstream failures are translated here, at the boundary, into `UpstreamError` with the status and
message the client should see: the upstream's own error for an HTTP error, 502 when it cannot be
reached, 504 when it is too slow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from luthien_proxy.native.model_map import ModelRoute


class UpstreamError(Exception):
    """The upstream call failed; `status_code` and `message` are what the client gets."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


def _headers(route: ModelRoute) -> dict[str, str]:
    headers = {"content-type": "application/json"}
    if route.api_key:
        headers["authorization"] = f"Bearer {route.api_key}"
    return headers


async def _error_from(response: httpx.Response, route: ModelRoute) -> UpstreamError:
    body = await response.aread()
    message = f"upstream {route.base_url} answered {response.status_code}"
    try:
        detail = orjson.loads(body)
        error = detail.get("error") if isinstance(detail, dict) else None
        if isinstance(error, dict) and error.get("message"):
            message = f"{message}: {error['message']}"
    except orjson.JSONDecodeError:
        if body:
            message = f"{message}: {body[:300].decode(errors='replace')}"
    return UpstreamError(response.status_code, message)


class UpstreamClient:
    """Forwards chat completions; created once per process and closed at shutdown."""

    def __init__(self, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds, connect=10.0),
            limits=httpx.Limits(max_connections=512, max_keepalive_connections=128),
            transport=transport,
        )

    async def close(self) -> None:
        await self.client.aclose()

    async def complete(self, route: ModelRoute, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streamed chat completion as a dict."""
        try:
            response = await self.client.post(
                f"{route.base_url}/chat/completions", content=orjson.dumps(body), headers=_headers(route)
            )
        except httpx.TimeoutException:
            raise UpstreamError(504, f"upstream {route.base_url} timed out") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"upstream {route.base_url} unreachable: {type(exc).__name__}") from None
        if response.status_code >= 400:
            raise await _error_from(response, route)
        try:
            value = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            raise UpstreamError(502, f"upstream {route.base_url} sent a body that is not JSON") from None
        if not isinstance(value, dict):
            raise UpstreamError(502, f"upstream {route.base_url} sent JSON that is not an object")
        return value

    @asynccontextmanager
    async def stream(
        self, route: ModelRoute, body: dict[str, Any]
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Open a streamed completion; yields an iterator of chunk dicts ending at `[DONE]`.

        Opening raises `UpstreamError` for an error status, so the client can still get a proper
        HTTP error before any stream has started.
        """
        request = self.client.build_request(
            "POST", f"{route.base_url}/chat/completions", content=orjson.dumps(body), headers=_headers(route)
        )
        try:
            response = await self.client.send(request, stream=True)
        except httpx.TimeoutException:
            raise UpstreamError(504, f"upstream {route.base_url} timed out") from None
        except httpx.HTTPError as exc:
            raise UpstreamError(502, f"upstream {route.base_url} unreachable: {type(exc).__name__}") from None
        try:
            if response.status_code >= 400:
                raise await _error_from(response, route)
            yield _chunks(response, route)
        finally:
            await response.aclose()


async def _chunks(response: httpx.Response, route: ModelRoute) -> AsyncIterator[dict[str, Any]]:
    try:
        async for line in response.aiter_lines():
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            chunk = orjson.loads(data)
            if isinstance(chunk, dict):
                if "error" in chunk and not chunk.get("choices"):
                    raise UpstreamError(502, f"upstream {route.base_url} stream error: {chunk['error']}")
                yield chunk
    except httpx.TimeoutException:
        raise UpstreamError(504, f"upstream {route.base_url} timed out mid-stream") from None
    except httpx.HTTPError as exc:
        raise UpstreamError(
            502, f"upstream {route.base_url} broke off the stream: {type(exc).__name__}"
        ) from None
    except orjson.JSONDecodeError:
        raise UpstreamError(502, f"upstream {route.base_url} sent a stream chunk that is not JSON") from None
