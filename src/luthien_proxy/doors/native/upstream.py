"""`UpstreamClient`: one keep-alive HTTP client to every OpenAI-compatible upstream.

aiohttp rather than httpx here: on this hot path its connection pool costs a fraction of
httpx's per request (see docs/benchmarks.md). Upstream failures are translated at this boundary
into `UpstreamError` with the status and message the client should see: the upstream's own error
for an HTTP error, 502 when it cannot be reached, 504 when it is too slow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import orjson

from luthien_proxy.model_routes import ModelRoute
from luthien_proxy.redaction import REDACTED, redact_text


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


def _scrubbed(text: str, route: ModelRoute) -> str:
    """Upstream text fit for the client, the records and the logs: an upstream may echo the key it
    was sent (in full, or in a key-shaped string) in its error."""
    if route.api_key:
        text = text.replace(route.api_key, REDACTED)
    return redact_text(text)


def _error_from(status: int, body: bytes, route: ModelRoute) -> UpstreamError:
    message = f"upstream {route.base_url} answered {status}"
    try:
        detail = orjson.loads(body)
        error = detail.get("error") if isinstance(detail, dict) else None
        if isinstance(error, dict) and error.get("message"):
            message = f"{message}: {_scrubbed(str(error['message']), route)}"
    except orjson.JSONDecodeError:
        if body:
            # Scrubbed before it is cut, so a key the cut would split is still found whole.
            message = f"{message}: {_scrubbed(body[:4096].decode(errors='replace'), route)[:300]}"
    return UpstreamError(status, message)


def _transport_error(exc: BaseException, route: ModelRoute, when: str = "") -> UpstreamError:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamError(504, f"upstream {route.base_url} timed out{when}")
    return UpstreamError(502, f"upstream {route.base_url} unreachable{when}: {type(exc).__name__}")


class UpstreamClient:
    """Forwards chat completions; created once per process (its session lazily, inside the loop)."""

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

    async def _post(self, route: ModelRoute, body: dict[str, Any]) -> aiohttp.ClientResponse:
        """Send the request; once more if the connection broke before any answer.

        A kept-alive connection can be closed by the upstream just as we reuse it (uvicorn, and so
        vLLM, closes idle ones after 5 s): the request then fails without having been read. A
        second try takes a fresh connection. The cost, if the upstream did read it and then broke
        the connection without answering, is one repeated completion request.
        """
        url, data, headers = f"{route.base_url}/chat/completions", orjson.dumps(body), _headers(route)
        try:
            return await self.session.post(url, data=data, headers=headers)
        except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError):
            return await self.session.post(url, data=data, headers=headers)

    async def complete(self, route: ModelRoute, body: dict[str, Any]) -> dict[str, Any]:
        """A non-streamed chat completion as a dict."""
        try:
            async with await self._post(route, body) as response:
                content = await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_error(exc, route) from None
        if status >= 400:
            raise _error_from(status, content, route)
        try:
            value = orjson.loads(content)
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
        try:
            response = await self._post(route, body)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _transport_error(exc, route) from None
        try:
            if response.status >= 400:
                raise _error_from(response.status, await response.read(), route)
            yield _chunks(response, route)
        finally:
            response.release()


async def _chunks(response: aiohttp.ClientResponse, route: ModelRoute) -> AsyncIterator[dict[str, Any]]:
    try:
        async for line in response.content:
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]":
                return
            chunk = orjson.loads(data)
            if isinstance(chunk, dict):
                if "error" in chunk and not chunk.get("choices"):
                    error = _scrubbed(str(chunk["error"]), route)
                    raise UpstreamError(502, f"upstream {route.base_url} stream error: {error}")
                yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise _transport_error(exc, route, " mid-stream") from None
    except orjson.JSONDecodeError:
        raise UpstreamError(502, f"upstream {route.base_url} sent a stream chunk that is not JSON") from None
