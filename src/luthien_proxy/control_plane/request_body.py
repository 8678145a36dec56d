"""Reads a request body as one JSON object, with a size limit and messages that say what is wrong."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException, Request


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The raw body, refusing (413) anything over `max_bytes` before reading it all."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, detail="Content-Length header is not a number")
        if int(declared) > max_bytes:
            raise HTTPException(413, detail=f"request body is {declared} bytes; the limit is {max_bytes}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(413, detail=f"request body exceeds the limit of {max_bytes} bytes")
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
    if nested_deeper_than(value):
        raise HTTPException(400, detail=f"request body nests deeper than {MAX_JSON_DEPTH} levels")
    return value


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    return parse_json_object(await read_body(request, max_bytes))
