"""The stream WebSocket under hostile input: random frames, huge frames and idle sockets never stop
the server from serving a well-behaved stream at the same time."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from luthien_proxy.control_plane import create_app
from luthien_proxy.policies import AllCapsPolicy
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.support.stream_client import receive_until_end, send_frame, stream_request, text_chunk

FRAME_LIMIT = 64 * 1024


def _random_frames(rng: random.Random) -> list[Any]:
    """Frames that are not valid protocol: bytes, bad JSON, wrong shapes, unicode noise."""
    frames: list[Any] = []
    for _ in range(8):
        kind = rng.randrange(6)
        if kind == 0:
            frames.append(rng.randbytes(rng.randrange(1, 2000)))
        elif kind == 1:
            frames.append("".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 300))))
        elif kind == 2:
            frames.append('{"type": ' + str(rng.random()) + "}")
        elif kind == 3:
            frames.append('{"type": "CHUNK", "data": ' + "[" * rng.randrange(1, 3000) + "]")
        elif kind == 4:
            frames.append('{"type": "START", "data": {"litellm_call_id": ' + str(rng.randrange(10**9)) + "}}")
        else:
            frames.append('{"type": "' + rng.choice(["END", "ERROR", "CHUNK", "NOPE"]) + '"}')
    return frames


async def _abuse(address: str, frames: list[Any]) -> int | None:
    """Send frames until the server closes; returns the close code (None if it never closed)."""
    try:
        async with connect(f"ws://{address}/stream/fuzz", max_size=None) as ws:
            for frame in frames:
                await ws.send(frame)
            async with asyncio.timeout(5):
                async for _ in ws:
                    pass
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None
    except TimeoutError:
        return None
    return 1000


@pytest.mark.parametrize("seed", range(6))
async def test_random_frames_never_stop_a_healthy_stream(
    open_services: OpenServices, seed: int, caplog: pytest.LogCaptureFixture
) -> None:
    services = await open_services(AllCapsPolicy(), stream_idle_timeout_seconds=2)
    async with (
        serve_app(create_app(services.settings, services), ws_max_size=FRAME_LIMIT) as address,
        connect(f"ws://{address}/stream/healthy") as healthy,
    ):
        await send_frame(healthy, {"type": "START", "data": stream_request("healthy")})
        codes = await asyncio.gather(
            *(_abuse(address, _random_frames(random.Random(seed * 100 + n))) for n in range(10))
        )
        await send_frame(healthy, {"type": "CHUNK", "data": text_chunk("still ", "healthy")})
        await send_frame(healthy, {"type": "CHUNK", "data": text_chunk("fine", "healthy")})
        await send_frame(healthy, {"type": "END"})
        result = await receive_until_end(healthy)
    assert result.text == "STILL FINE" and result.end == {"type": "END"}
    # 1002 for protocol violations; 1011 after an ERROR frame the fuzzer itself sent as "upstream failed".
    assert set(codes) <= {1000, 1002, 1011}, f"close codes: {codes}"
    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR and "Exception" in r.getMessage()]
    assert crashes == [], "no handler crashed"


async def test_huge_frame_is_refused_and_others_keep_streaming(open_services: OpenServices) -> None:
    services = await open_services(AllCapsPolicy())
    async with (
        serve_app(create_app(services.settings, services), ws_max_size=FRAME_LIMIT) as address,
        connect(f"ws://{address}/stream/ok") as healthy,
    ):
        await send_frame(healthy, {"type": "START", "data": stream_request("ok")})
        code = await _abuse(address, ['{"type": "START", "data": {"x": "' + "a" * (4 * FRAME_LIMIT) + '"}}'])
        await send_frame(healthy, {"type": "CHUNK", "data": text_chunk("ok", "ok")})
        await send_frame(healthy, {"type": "END"})
        result = await receive_until_end(healthy)
    assert code == 1009, "message too big"
    assert result.text == "OK"


async def test_idle_sockets_are_dropped_and_do_not_starve_others(open_services: OpenServices) -> None:
    services = await open_services(AllCapsPolicy(), stream_idle_timeout_seconds=0.5)
    async with serve_app(create_app(services.settings, services)) as address:
        idle = [await connect(f"ws://{address}/stream/idle-{n}") for n in range(50)]
        async with connect(f"ws://{address}/stream/busy") as busy:
            await send_frame(busy, {"type": "START", "data": stream_request("busy")})
            await send_frame(busy, {"type": "CHUNK", "data": text_chunk("served", "busy")})
            await send_frame(busy, {"type": "END"})
            result = await receive_until_end(busy)
        assert result.text == "SERVED"
        closed = 0
        for ws in idle:
            try:
                async with asyncio.timeout(5):
                    await ws.recv()
            except ConnectionClosed as exc:
                closed += exc.rcvd is not None and exc.rcvd.code == 1002
        assert closed == 50, "every silent socket was closed for sending no START"


async def test_slow_http_clients_do_not_block_others(open_services: OpenServices) -> None:
    services = await open_services()
    async with serve_app(create_app(services.settings, services)) as address:
        host, port = address.split(":")
        writers = []
        for _ in range(100):
            _, writer = await asyncio.open_connection(host, int(port))
            writer.write(
                b"POST /api/hooks/async_pre_call_hook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n"
            )
            await writer.drain()
            writers.append(writer)
        import httpx

        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            health = await client.get("/health")
        for writer in writers:
            writer.close()
    assert health.status_code == 200
