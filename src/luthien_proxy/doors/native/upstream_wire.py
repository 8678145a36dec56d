"""How each dialect's upstream is asked and read: its URL and headers, its error body, its SSE.

`UpstreamClient` (upstream.py) owns the one HTTP session; this module owns the dialect differences,
so the client has one code path. Everything an upstream sends back is scrubbed of the key it was
sent before it reaches the client, a record or a log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp.http_exceptions import LineTooLong

from luthien_proxy.model_routes import ModelRoute
from luthien_proxy.redaction import REDACTED, redact_text
from luthien_proxy.wire import DIALECT_ANTHROPIC_MESSAGES

Json = dict[str, Any]
#: Anthropic's API version when the client names none.
DEFAULT_ANTHROPIC_VERSION = "2023-06-01"
#: Anthropic's error type for each status a client's retry logic reads.
ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}
_STATUS_OF_TYPE = {kind: status for status, kind in ANTHROPIC_ERROR_TYPES.items()}


def anthropic_error_type(status: int) -> str:
    return ANTHROPIC_ERROR_TYPES.get(status, "api_error")


class UpstreamError(Exception):
    """The upstream call failed; `status_code` and `message` are what the client gets, `kind` the
    upstream's own error type when it named one."""

    def __init__(self, status_code: int, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.kind = kind


@dataclass(frozen=True)
class ClientRequest:
    """What of the client's HTTP request goes upstream besides the body (Anthropic door only)."""

    #: `?beta=true` and the like, with its `?` ("" when none).
    query: str = ""
    #: `anthropic-version`, `anthropic-beta`, ... exactly as sent.
    headers: Mapping[str, str] = field(default_factory=dict[str, str])
    #: The client's own credential header (name, value), sent upstream for a pass-through route.
    credential: tuple[str, str] | None = field(default=None, repr=False)


NO_CLIENT = ClientRequest()


def scrubbed(text: str, route: ModelRoute, client: ClientRequest = NO_CLIENT) -> str:
    """Upstream text fit for the client, the records and the logs: an upstream may echo the key it
    was sent (in full, or in a key-shaped string) in its error."""
    for secret in (route.api_key, client.credential[1] if client.credential else None):
        if secret:
            text = text.replace(secret, REDACTED)
    return redact_text(text)


#: The upstream APIs a door calls: OpenAI chat, Anthropic Messages (and its token count), OpenAI Responses.
CHAT, MESSAGES, COUNT_TOKENS, RESPONSES = "chat", "messages", "count_tokens", "responses"


def request_of(route: ModelRoute, api: str, client: ClientRequest) -> tuple[str, dict[str, str]]:
    """The URL and headers of a call to `route`'s `api`."""
    headers = {"content-type": "application/json"}
    if api in (MESSAGES, COUNT_TOKENS):
        headers.update(client.headers)
        headers.setdefault("anthropic-version", DEFAULT_ANTHROPIC_VERSION)
        if route.forward_client_key and client.credential is not None:
            name, value = client.credential
            headers[name] = value
        elif route.api_key:
            headers["x-api-key"] = route.api_key
        suffix = "/count_tokens" if api == COUNT_TOKENS else ""
        return f"{route.base_url}/v1/messages{suffix}{client.query}", headers
    if route.forward_client_key and client.credential is not None:
        headers["authorization"] = client.credential[1]
    elif route.api_key:
        headers["authorization"] = f"Bearer {route.api_key}"
    return f"{route.base_url}/{'responses' if api == RESPONSES else 'chat/completions'}", headers


def error_from(status: int, body: bytes, route: ModelRoute, client: ClientRequest) -> UpstreamError:
    """The client's error for an upstream's error answer: the upstream's status, type and wording."""
    prefix = f"upstream {route.base_url} answered {status}"
    try:
        detail = orjson.loads(body)
    except orjson.JSONDecodeError:
        # Scrubbed before it is cut, so a key the cut would split is still found whole.
        text = scrubbed(body[:4096].decode(errors="replace"), route, client)[:300]
        return UpstreamError(status, f"{prefix}: {text}" if text else prefix)
    error = detail.get("error") if isinstance(detail, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    kind = error.get("type") if isinstance(error, dict) else None
    if route.dialect == DIALECT_ANTHROPIC_MESSAGES and isinstance(message, str):
        # Anthropic clients read the upstream's own type and wording (retry logic keys on them).
        return UpstreamError(
            status, scrubbed(message, route, client), kind if isinstance(kind, str) else None
        )
    if message:
        return UpstreamError(status, f"{prefix}: {scrubbed(str(message), route, client)}")
    return UpstreamError(status, prefix)


def transport_error(exc: BaseException, route: ModelRoute, when: str = "") -> UpstreamError:
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return UpstreamError(504, f"upstream {route.base_url} timed out{when}")
    return UpstreamError(502, f"upstream {route.base_url} unreachable{when}: {type(exc).__name__}")


def _stream_error(frame: Json, route: ModelRoute, client: ClientRequest) -> UpstreamError:
    error = frame.get("error")
    if route.dialect == DIALECT_ANTHROPIC_MESSAGES and isinstance(error, dict):
        kind, message = error.get("type"), error.get("message")
        if isinstance(kind, str) and isinstance(message, str):
            return UpstreamError(_STATUS_OF_TYPE.get(kind, 502), scrubbed(message, route, client), kind)
    return UpstreamError(
        502, f"upstream {route.base_url} stream error: {scrubbed(str(error), route, client)}"
    )


async def lines_of(content: aiohttp.StreamReader) -> AsyncIterator[bytes]:
    """The lines `async for line in content` gives (each with its newline, a last unterminated one
    without, `LineTooLong` past the reader's limit), read a network read at a time: aiohttp's
    `readuntil` per line was the largest cost of reading a stream (three lines an Anthropic event)."""
    limit = content.get_read_buffer_limits()[1]
    pending = b""
    async for data in content.iter_any():
        pending = pending + data if pending else data
        start = 0
        while (end := pending.find(b"\n", start)) != -1:
            if end + 1 - start > limit:
                raise LineTooLong(pending[start : start + 100] + b"...", limit)
            yield pending[start : end + 1]
            start = end + 1
        pending = pending[start:]
        if len(pending) > limit:
            raise LineTooLong(pending[:100] + b"...", limit)
    if pending:
        yield pending


async def frames(
    response: aiohttp.ClientResponse, route: ModelRoute, client: ClientRequest, api: str
) -> AsyncIterator[Json]:
    """The JSON objects of an upstream's SSE `data:` lines, to the end of the stream (OpenAI
    chat's `[DONE]`); an error event raises `UpstreamError`."""
    typed = api in (MESSAGES, RESPONSES)  # events named by their `type`; no [DONE]
    try:
        async for line in lines_of(response.content):
            if not line.startswith(b"data:"):
                continue
            data = line[5:].strip()
            if data == b"[DONE]" and not typed:
                return
            frame = orjson.loads(data)
            if not isinstance(frame, dict):
                continue
            failed = frame.get("type") == "error" if typed else "error" in frame and not frame.get("choices")
            if failed:
                raise _stream_error(frame, route, client)
            yield frame
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise transport_error(exc, route, " mid-stream") from None
    except orjson.JSONDecodeError:
        raise UpstreamError(502, f"upstream {route.base_url} sent a stream frame that is not JSON") from None
