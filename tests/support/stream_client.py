"""A minimal client of the `/stream/{stream_id}` protocol, as the LiteLLM callback speaks it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect


def text_chunk(text: str, call_id: str = "call", index: int = 0) -> dict[str, Any]:
    """An OpenAI chat.completion.chunk carrying `text`."""
    return {
        "id": f"chatcmpl-{call_id}",
        "object": "chat.completion.chunk",
        "created": 1700000000,
        "model": "demo-echo",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }


def stream_request(call_id: str, trace_id: str | None = None) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": "demo-echo",
        "stream": True,
        "messages": [{"role": "user", "content": "hello"}],
        "litellm_call_id": call_id,
    }
    if trace_id:
        request["litellm_trace_id"] = trace_id
    return request


def texts(chunks: Sequence[dict[str, Any]]) -> list[str]:
    return ["".join(c["delta"].get("content") or "" for c in chunk["choices"]) for chunk in chunks]


@dataclass
class StreamResult:
    chunks: list[dict[str, Any]] = field(default_factory=list)
    end: dict[str, Any] | None = None

    @property
    def text(self) -> str:
        return "".join(texts(self.chunks))


async def send_frame(ws: ClientConnection, frame: dict[str, Any]) -> None:
    await ws.send(orjson.dumps(frame).decode())


async def receive_until_end(ws: ClientConnection) -> StreamResult:
    """Collect CHUNK frames until END or ERROR (kept in `end`)."""
    result = StreamResult()
    async for raw in ws:
        frame = orjson.loads(raw)
        if frame["type"] == "CHUNK":
            result.chunks.append(frame["data"])
        else:
            result.end = frame
            break
    return result


async def run_stream(
    address: str, call_id: str, pieces: Sequence[str], trace_id: str | None = None, headers: Any = None
) -> StreamResult:
    """START, one CHUNK per piece, END; then read everything the control plane sends back."""
    async with connect(f"ws://{address}/stream/{call_id}", additional_headers=headers) as ws:
        await send_frame(ws, {"type": "START", "data": stream_request(call_id, trace_id)})
        for n, piece in enumerate(pieces):
            await send_frame(ws, {"type": "CHUNK", "data": text_chunk(piece, call_id, n)})
        await send_frame(ws, {"type": "END"})
        return await receive_until_end(ws)
