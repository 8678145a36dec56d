"""Traffic for the UI tests: a policy with visible effects, and calls made the way the proxy makes them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

from luthien_proxy.model import Request, Response, Text
from luthien_proxy.policies import AllCapsPolicy, PolicyContext, PolicyRejection
from tests.support.stream_client import (
    StreamResult,
    receive_until_end,
    send_frame,
    stream_request,
    text_chunk,
)

FORBIDDEN = "forbidden"
REJECTION_MESSAGE = "prompt mentions a forbidden topic"


class UiTestPolicy(AllCapsPolicy):
    """Upper-cases streams; in plain calls redacts "hunter2" from prompts, swaps "fox" for "cat",
    and rejects prompts mentioning "forbidden" — small, recognisable changes for the diff views."""

    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        text = request.text()
        if FORBIDDEN in text:
            raise PolicyRejection(REJECTION_MESSAGE, status_code=403)
        if "hunter2" not in text:
            return None
        return request.with_messages(
            [
                m.with_parts(
                    [
                        p.with_text(p.text.replace("hunter2", "[redacted]")) if isinstance(p, Text) else p
                        for p in m.parts
                    ]
                )
                for m in request.messages
            ]
        )

    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        return response.map_text(lambda text: text.replace("fox", "cat"))


def _request(call_id: str, trace_id: str, prompt: str) -> dict[str, Any]:
    return {
        "model": "demo-echo",
        "messages": [{"role": "user", "content": prompt}],
        "litellm_call_id": call_id,
        "litellm_trace_id": trace_id,
    }


async def pre_call(client: httpx.AsyncClient, call_id: str, trace_id: str, prompt: str) -> httpx.Response:
    """The pre-call hook, as the LiteLLM callback sends it."""
    return await client.post(
        "/api/hooks/async_pre_call_hook", json={"data": _request(call_id, trace_id, prompt)}
    )


async def plain_call(
    client: httpx.AsyncClient, call_id: str, trace_id: str, prompt: str, answer: str
) -> httpx.Response:
    """A non-streamed call: pre-call hook, then the success hook with `answer` from the model."""
    started = await pre_call(client, call_id, trace_id, prompt)
    if started.status_code != 200:
        return started
    response = {
        "id": f"chatcmpl-{call_id}",
        "object": "chat.completion",
        "model": "demo-echo",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
        ],
    }
    return await client.post(
        "/api/hooks/async_post_call_success_hook",
        json={"data": _request(call_id, trace_id, prompt), "response": response},
    )


class ChunkStream:
    """A `/stream/{call_id}` session the test feeds one chunk at a time."""

    def __init__(self, ws: ClientConnection, call_id: str) -> None:
        self.ws = ws
        self.call_id = call_id
        self.sent = 0

    async def send(self, text: str) -> None:
        await send_frame(self.ws, {"type": "CHUNK", "data": text_chunk(text, self.call_id, self.sent)})
        self.sent += 1

    async def end(self) -> StreamResult:
        """Finish the upstream side and collect everything the control plane sends back."""
        await send_frame(self.ws, {"type": "END"})
        return await receive_until_end(self.ws)

    async def fail(self, error: str) -> StreamResult:
        """Report an upstream failure and collect what the control plane answers."""
        await send_frame(self.ws, {"type": "ERROR", "error": error})
        return await receive_until_end(self.ws)


@asynccontextmanager
async def chunk_stream(address: str, call_id: str, trace_id: str) -> AsyncIterator[ChunkStream]:
    """Open the stream WebSocket and send START; the caller sends chunks and ends it."""
    async with connect(f"ws://{address}/stream/{call_id}") as ws:
        await send_frame(ws, {"type": "START", "data": stream_request(call_id, trace_id)})
        yield ChunkStream(ws, call_id)
