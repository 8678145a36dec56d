"""`UpstreamClient`: one keep-alive HTTP client to every upstream, whatever its dialect.

aiohttp rather than httpx here: on this hot path its connection pool costs a fraction of
httpx's per request (see docs/benchmarks.md). Upstream failures are translated at this boundary
into `UpstreamError` with the status and message the client should see: the upstream's own error
for an HTTP error, 502 when it cannot be reached, 504 when it is too slow. What differs per dialect
(URL, headers, error body, SSE) is in `upstream_wire.py`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson

from luthien_proxy.doors.native.upstream_wire import (
    CHAT,
    NO_CLIENT,
    ClientRequest,
    UpstreamError,
    error_from,
    frames,
    request_of,
    transport_error,
)
from luthien_proxy.model_routes import ModelRoute

__all__ = ["ClientRequest", "UpstreamClient", "UpstreamError"]


class UpstreamClient:
    """Forwards calls to upstreams; created once per process (its session lazily, inside the loop)."""

    def __init__(self, timeout_seconds: float) -> None:
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=10.0, sock_read=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(limit=512, keepalive_timeout=30.0)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self.timeout, auto_decompress=True
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _post(
        self, route: ModelRoute, body: dict[str, Any], client: ClientRequest, api: str
    ) -> aiohttp.ClientResponse:
        """Send the request; once more if the connection broke before any answer.

        A kept-alive connection can be closed by the upstream just as we reuse it (uvicorn, and so
        vLLM, closes idle ones after 5 s): the request then fails without having been read. A
        second try takes a fresh connection. The cost, if the upstream did read it and then broke
        the connection without answering, is one repeated completion request.
        """
        url, headers = request_of(route, api, client)
        data = orjson.dumps(body)
        try:
            return await self.session.post(url, data=data, headers=headers)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            return await self.session.post(url, data=data, headers=headers)

    async def complete(
        self, route: ModelRoute, body: dict[str, Any], client: ClientRequest = NO_CLIENT, api: str = CHAT
    ) -> dict[str, Any]:
        """A non-streamed answer of `api` (`upstream_wire.CHAT`, `MESSAGES`, ...) as a dict."""
        try:
            async with await self._post(route, body, client, api) as response:
                content = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(exc, route) from None
        if status >= 400:
            raise error_from(status, content, route, client)
        try:
            value = orjson.loads(content)
        except orjson.JSONDecodeError:
            raise UpstreamError(502, f"upstream {route.base_url} sent a body that is not JSON") from None
        if not isinstance(value, dict):
            raise UpstreamError(502, f"upstream {route.base_url} sent JSON that is not an object")
        return value

    @asynccontextmanager
    async def stream(
        self, route: ModelRoute, body: dict[str, Any], client: ClientRequest = NO_CLIENT, api: str = CHAT
    ) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        """Open a stream; yields an iterator of its frames (chunk dicts) to its end.

        Opening raises `UpstreamError` for an error status, so the client can still get a proper
        HTTP error before any stream has started.
        """
        try:
            response = await self._post(route, body, client, api)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise transport_error(exc, route) from None
        try:
            if response.status >= 400:
                raise error_from(response.status, await response.read(), route, client)
            yield frames(response, route, client, api)
        finally:
            response.release()
