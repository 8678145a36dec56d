"""An OpenAI-compatible upstream that keeps every request it receives, to check what was forwarded.

`capture` answers "ok" (streamed or not); `capture-error` answers 401 quoting the key it was sent,
as some providers' errors do.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def _chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
    choice = {"index": 0, "delta": delta, "finish_reason": finish}
    body = {
        "id": "cap-1",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "capture",
        "choices": [choice],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


class CaptureUpstream:
    """The app, and the JSON bodies it received (newest last)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        routes = [
            Route(path, self.chat, methods=["POST"]) for path in ("/v1/chat/completions", "/chat/completions")
        ]
        self.app = Starlette(routes=routes)

    async def chat(self, request: Request) -> Response:
        body = orjson.loads(await request.body())
        self.bodies.append(body)
        if str(body.get("model", "")).endswith("capture-error"):
            key = request.headers.get("authorization", "").removeprefix("Bearer ")
            error = {"message": f"Incorrect API key provided: {key}", "type": "invalid_request_error"}
            return Response(orjson.dumps({"error": error}), 401, media_type="application/json")
        if body.get("stream"):
            frames = _chunk({"role": "assistant", "content": "ok"}) + _chunk({}, "stop") + b"data: [DONE]\n\n"
            return Response(frames, media_type="text/event-stream")
        message = {"role": "assistant", "content": "ok"}
        completion = {
            "id": "cap-1",
            "object": "chat.completion",
            "created": 0,
            "model": "capture",
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        return Response(orjson.dumps(completion), media_type="application/json")
