"""The WebSocket stream client against a tiny fake policy server whose behaviour is picked by call id."""

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from fastapi import HTTPException
from litellm.types.utils import ModelResponseStream
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.errors import StreamPolicyError
from luthien_proxy.doors.litellm.callback.stream_bridge import StreamBridge

pytestmark = pytest.mark.asyncio

WORDS = ["one ", "two ", "three"]


def _build(data: dict) -> ModelResponseStream:
    return ModelResponseStream(**data)


def _chunk(text: str) -> ModelResponseStream:
    choice = {"index": 0, "delta": {"content": text}, "finish_reason": None}
    return _build({"id": "c1", "model": "demo", "choices": [choice]})


async def _upstream(fail_after: int | None = None) -> AsyncIterator[ModelResponseStream]:
    for i, word in enumerate(WORDS):
        if fail_after is not None and i == fail_after:
            raise RuntimeError("upstream broke")
        yield _chunk(word)


async def _policy(ws: ServerConnection) -> None:
    """Upper-cases chunks; the call id in the path picks a misbehaviour."""
    assert ws.request is not None
    mode = ws.request.path.rsplit("/", 1)[-1]
    received = json.loads(await ws.recv())
    assert received["type"] == "START"
    if mode in ("too-big", "bad-frame"):
        # What the control plane does with a frame over its size limit, or one it cannot accept.
        await ws.close(*((1009, "message too big") if mode == "too-big" else (1002, "frame nests too deep")))
        return
    buffered, sent = [], 0
    async for raw in ws:
        msg = json.loads(raw)
        if msg["type"] == "CHUNK":
            if mode in ("silent", "early-error", "early-close", "early-drop"):
                continue
            chunk = msg["data"]
            chunk["choices"][0]["delta"]["content"] = chunk["choices"][0]["delta"]["content"].upper()
            if sent == 1 and mode in ("error", "close", "reject"):
                if mode == "error":
                    await ws.send('{"type":"ERROR","error":"policy exploded"}')
                elif mode == "reject":
                    await ws.send('{"type":"REJECT","error":"not allowed","status_code":451}')
                await ws.close()
                return
            if mode == "buffer" or (mode.startswith("held") and (sent or mode == "held-first")):
                buffered.append(chunk)
                continue
            await ws.send(json.dumps({"type": "CHUNK", "data": chunk}))
            sent += 1
        elif msg["type"] == "END":
            if mode == "silent":
                await asyncio.sleep(1)
            if mode.startswith("held"):  # a call held for audit: twice the proxy's timeout, alive
                for _ in range(6):
                    await asyncio.sleep(0.1)
                    await ws.send('{"type":"KEEPALIVE"}')
                if mode == "held-then-silent":
                    await asyncio.sleep(0.5)
            if mode == "early-error":
                await ws.send('{"type":"ERROR","error":"policy exploded"}')
                return
            if mode == "early-close":
                return
            if mode == "early-drop":  # the process died: no close frame
                assert ws.transport is not None
                ws.transport.abort()
                return
            for chunk in buffered:
                await ws.send(json.dumps({"type": "CHUNK", "data": chunk}))
            await ws.send('{"type":"END"}')
            return
        elif msg["type"] == "ERROR":
            await ws.send('{"type":"END"}')
            return


@pytest.fixture
async def ws_url() -> AsyncIterator[str]:
    async with serve(_policy, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        yield f"http://127.0.0.1:{port}"


async def _collect(url: str, call_id: str, *, fail_open: bool = False, upstream=None) -> list[str]:
    config = CallbackConfig(control_plane_url=url, fail_open=fail_open, timeout_s=0.5)
    bridge = StreamBridge(config, call_id, {"messages": []}, _build)
    out = []
    async for chunk in bridge.run(upstream or _upstream()):
        out.append(chunk.choices[0].delta.content)
    return out


async def test_policed_stream_is_transformed(ws_url: str) -> None:
    assert await _collect(ws_url, "echo") == ["ONE ", "TWO ", "THREE"]


async def test_policy_may_buffer_until_end(ws_url: str) -> None:
    assert await _collect(ws_url, "buffer") == ["ONE ", "TWO ", "THREE"]


async def test_error_after_first_chunk_ends_stream_with_error(ws_url: str) -> None:
    for fail_open in (False, True):
        with pytest.raises(StreamPolicyError, match="policy exploded"):
            await _collect(ws_url, "error", fail_open=fail_open)


async def test_abrupt_close_after_first_chunk_is_an_error(ws_url: str) -> None:
    with pytest.raises(StreamPolicyError, match="closed the connection"):
        await _collect(ws_url, "close")


async def test_reject_is_never_bypassed(ws_url: str) -> None:
    with pytest.raises(StreamPolicyError) as info:
        await _collect(ws_url, "reject", fail_open=True)
    assert info.value.status_code == 451 and info.value.type == "policy_rejection"


async def test_error_before_any_chunk_is_http_error_even_fail_open(ws_url: str) -> None:
    for fail_open in (False, True):
        with pytest.raises(HTTPException) as info:
            await _collect(ws_url, "early-error", fail_open=fail_open)
        assert info.value.status_code == 502 and "policy exploded" in info.value.detail


async def test_drop_before_any_chunk_fail_open_replays_upstream(ws_url: str) -> None:
    with pytest.raises(HTTPException) as info:
        await _collect(ws_url, "early-drop")
    assert info.value.status_code == 502
    assert await _collect(ws_url, "early-drop", fail_open=True) == WORDS


async def test_deliberate_close_before_end_is_blocked_even_fail_open(ws_url: str) -> None:
    for fail_open in (False, True):
        with pytest.raises(HTTPException) as info:
            await _collect(ws_url, "early-close", fail_open=fail_open)
        assert info.value.status_code == 502 and "(1000" in info.value.detail


@pytest.mark.parametrize(
    ("mode", "status", "text"), [("too-big", 413, "size limit"), ("bad-frame", 400, "too deep")]
)
async def test_a_refused_stream_reaches_the_client_even_fail_open(
    ws_url: str, mode: str, status: int, text: str
) -> None:
    """A client or model that pads the stream past the control plane's limit gets an error, never
    the upstream unpoliced."""
    for fail_open in (False, True):
        with pytest.raises(HTTPException) as info:
            await _collect(ws_url, mode, fail_open=fail_open)
        assert info.value.status_code == status and text in info.value.detail


async def test_a_handshake_refusal_is_blocked_even_fail_open() -> None:
    async def refuse(connection: ServerConnection, request: Request) -> Response:
        return connection.respond(403, "wrong proxy token\n")

    async with serve(_policy, "127.0.0.1", 0, process_request=refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        with pytest.raises(HTTPException) as info:
            await _collect(f"http://127.0.0.1:{port}", "echo", fail_open=True)
    assert info.value.status_code == 502 and "HTTP 403" in info.value.detail


async def test_silent_policy_times_out_after_upstream_ends(ws_url: str) -> None:
    with pytest.raises(HTTPException) as info:
        await _collect(ws_url, "silent")
    assert info.value.status_code == 504
    assert await _collect(ws_url, "silent", fail_open=True) == WORDS


async def test_unreachable_policy_server() -> None:
    from luthien_proxy.tooling.stack.processes import free_port

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(HTTPException) as info:
        await _collect(url, "echo")
    assert info.value.status_code == 503
    assert await _collect(url, "echo", fail_open=True) == WORDS


async def test_upstream_failure_reaches_the_client(ws_url: str) -> None:
    with pytest.raises(RuntimeError, match="upstream broke"):
        await _collect(ws_url, "echo", upstream=_upstream(fail_after=2))


KEEPALIVE = b": keepalive\n\n"


async def _collect_held(url: str, call_id: str) -> list[str | bytes]:
    config = CallbackConfig(control_plane_url=url, timeout_s=0.3)
    bridge = StreamBridge(config, call_id, {"messages": []}, _build, keepalive=KEEPALIVE)
    return [
        chunk if isinstance(chunk, bytes) else chunk.choices[0].delta.content
        async for chunk in bridge.run(_upstream())
    ]


async def test_a_held_stream_outlives_the_timeout_on_keepalives_and_passes_them_on(ws_url: str) -> None:
    out = await _collect_held(ws_url, "held")
    assert out == ["ONE ", *[KEEPALIVE] * 6, "TWO ", "THREE"]


async def test_no_keepalive_reaches_a_client_whose_stream_has_not_started(ws_url: str) -> None:
    # Before the first chunk the client waits for the headers; an error can still be an HTTP status.
    assert await _collect_held(ws_url, "held-first") == ["ONE ", "TWO ", "THREE"]


async def test_keepalives_that_stop_time_out_like_silence(ws_url: str) -> None:
    with pytest.raises(StreamPolicyError) as info:  # after the first chunk: an error in the stream
        await _collect_held(ws_url, "held-then-silent")
    assert info.value.status_code == 504 and "sent nothing for 0.3s" in str(info.value)
