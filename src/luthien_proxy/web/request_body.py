"""Request body limits (on every route, and tighter per route) and reading a body as one JSON object,
with messages that say what is wrong."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from luthien_proxy.web.responses import JSONBody


def declared_length_problem(declared: str, max_bytes: int) -> HTTPException | None:
    """The refusal for a Content-Length that is not a number (400) or over `max_bytes` (413)."""
    if not declared.isdigit():
        return HTTPException(400, detail="Content-Length header is not a number")
    if int(declared) > max_bytes:
        return HTTPException(413, detail=f"request body is {declared} bytes; the limit is {max_bytes}")
    return None


def _too_large(max_bytes: int) -> HTTPException:
    return HTTPException(413, detail=f"request body exceeds the limit of {max_bytes} bytes")


class BodySizeLimit:
    """Pure ASGI wrapper: every HTTP route refuses a body over `max_bytes` before it is buffered.

    A declared length is judged from the header alone; a chunked body is counted as it arrives and
    the route's read fails with 413 (handled like any HTTPException) at the first byte too many.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: bytes | None = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        if declared is not None:
            problem = declared_length_problem(declared.decode("latin-1"), self.max_bytes)
            if problem is not None:
                body = JSONBody({"detail": problem.detail}, status_code=problem.status_code)
                await body(scope, receive, send)
                return
            if not chunked:  # the server holds the body to its declared length
                await self.app(scope, receive, send)
                return
        await self.app(scope, self._counting(receive), send)

    def _counting(self, receive: Receive) -> Receive:
        size = 0

        async def counted() -> Message:
            nonlocal size
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self.max_bytes:
                    raise _too_large(self.max_bytes)
            return message

        return counted


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing (413) anything over `max_bytes` before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None and (problem := declared_length_problem(declared, max_bytes)):
        raise problem
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


#: Deeper JSON than this is refused: no real request needs it, and walking it would exhaust the stack.
MAX_JSON_DEPTH = 100


def nested_deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `value` nests objects/arrays more than `limit` levels (iterative, stops early)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_json_object(body: bytes) -> dict[str, Any]:
    """`body` decoded as a JSON object; 400 for malformed or too deeply nested JSON, 422 for any other
    JSON value."""
    if not body:
        raise HTTPException(400, detail="request body is empty; expected a JSON object")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(400, detail=f"request body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise HTTPException(422, detail=f"request body must be a JSON object, got {type(value).__name__}")
    # A body with fewer openers than the limit cannot nest deeper: two C-level counts, no walk.
    if body.count(b"{") + body.count(b"[") > MAX_JSON_DEPTH and nested_deeper_than(value):
        raise HTTPException(400, detail=f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    return value


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    return parse_json_object(await read_body(request, max_bytes))
