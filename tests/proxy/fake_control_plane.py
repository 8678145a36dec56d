"""A tiny stand-in for the Luthien control plane that implements the callback contract.

Policy: reject prompts containing "forbidden" (403); rewrite a user message (or a Responses `input`)
"rewrite-me" to "rewritten"; upper-case chat response content (whole responses and stream chunks);
a prompt containing "stream-error" makes the stream policy send ERROR after its first chunk,
"stream-reject" sends REJECT instead.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

TOKEN = "test-proxy-token"


def _prompt(data: dict[str, Any]) -> str:
    """The request's text: its chat or Messages `messages`, or its Responses `input` (string or items)."""
    items = data.get("messages") or data.get("input") or []
    if isinstance(items, str):
        return items
    return " ".join(str(m.get("content", "")) for m in items if isinstance(m, dict))


def _upper_choices(payload: dict[str, Any], key: str) -> None:
    for choice in payload.get("choices") or []:
        part = choice.get(key) or {}
        if isinstance(part.get("content"), str):
            part["content"] = part["content"].upper()


class FakeControlPlane:
    """Records everything it receives so tests can check what crossed the wire."""

    def __init__(self) -> None:
        self.hook_bodies: list[tuple[str, dict[str, Any]]] = []
        self.ws_messages: list[dict[str, Any]] = []
        self.raw_bodies: list[bytes] = []
        self.app = Starlette(
            routes=[
                Route("/api/hooks/{hook}", self.hook, methods=["POST"]),
                WebSocketRoute("/stream/{call_id}", self.stream),
            ]
        )

    async def hook(self, request: Request) -> Response:
        if request.headers.get("x-luthien-proxy-token") != TOKEN:
            return Response(b'{"detail":"bad token"}', 401, media_type="application/json")
        raw = await request.body()
        self.raw_bodies.append(raw)
        hook = request.path_params["hook"]
        body = orjson.loads(raw)
        self.hook_bodies.append((hook, body))
        if hook == "async_pre_call_hook":
            data = body["data"]
            if "forbidden" in _prompt(data):
                error = {
                    "message": "Prompt mentions a forbidden topic",
                    "type": "policy_rejection",
                    "code": 403,
                }
                return Response(
                    orjson.dumps({"error": error}),
                    403,
                    headers={"x-luthien-decision": "reject"},
                    media_type="application/json",
                )
            for message in data.get("messages", []):
                if message.get("content") == "rewrite-me":
                    message["content"] = "rewritten"
            if data.get("input") == "rewrite-me":
                data["input"] = "rewritten"
        if hook == "async_post_call_success_hook":
            _upper_choices(body["response"], "message")
        return Response(orjson.dumps(body), media_type="application/json")

    async def stream(self, ws: WebSocket) -> None:
        if ws.headers.get("x-luthien-proxy-token") != TOKEN:
            await ws.close(code=4401)
            return
        await ws.accept()
        mode = None
        sent = 0
        done = False
        try:
            while True:
                message = orjson.loads(await ws.receive_text())
                self.ws_messages.append(message)
                kind = message["type"]
                if done:
                    # Keep draining until the client closes: closing with unread input makes the
                    # kernel reset the connection, and the client could lose our ERROR/REJECT.
                    continue
                if kind == "START":
                    prompt = _prompt(message["data"])
                    mode = (
                        "error"
                        if "stream-error" in prompt
                        else "reject"
                        if "stream-reject" in prompt
                        else None
                    )
                elif kind == "CHUNK":
                    if sent == 1 and mode == "error":
                        await ws.send_text('{"type":"ERROR","error":"policy crashed on purpose"}')
                        done = True
                        continue
                    if sent == 1 and mode == "reject":
                        reject = {"type": "REJECT", "error": "stream blocked by policy", "status_code": 451}
                        await ws.send_text(orjson.dumps(reject).decode())
                        done = True
                        continue
                    chunk = message["data"]
                    _upper_choices(chunk, "delta")
                    await ws.send_text(orjson.dumps({"type": "CHUNK", "data": chunk}).decode())
                    sent += 1
                elif kind in ("END", "ERROR"):
                    await ws.send_text('{"type":"END"}')
                    return
        except WebSocketDisconnect:
            return


class ThreadedServer:
    """Runs an ASGI app under uvicorn in a background thread."""

    def __init__(self, app: Any, port: int) -> None:
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self) -> ThreadedServer:
        self.thread.start()
        ready = threading.Event()
        while not self.server.started and self.thread.is_alive():
            ready.wait(0.02)
        if not self.server.started:
            raise RuntimeError("fake control plane failed to start")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)
