"""`UpstreamClient` against a raw socket server that closes connections without answering, the way
an upstream closes an idle kept-alive connection just as it is reused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
import pytest

from luthien_proxy.doors.native.upstream import UpstreamClient, UpstreamError
from luthien_proxy.model_routes import ModelRoute

_ANSWER = orjson.dumps({"id": "c1", "object": "chat.completion", "choices": []})


@asynccontextmanager
async def _upstream(drops: int) -> AsyncIterator[tuple[ModelRoute, list[int]]]:
    """Closes the connection of the first `drops` requests unanswered, answers the rest."""
    seen = [0]

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length")
            )
            await reader.readexactly(length)
            seen[0] += 1
            if seen[0] <= drops:
                writer.close()
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
            writer.write(b"content-length: %d\r\n\r\n%s" % (len(_ANSWER), _ANSWER))
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    route = ModelRoute(
        model_name="m", upstream_model="m", base_url=f"http://127.0.0.1:{port}/v1", api_key=None
    )
    try:
        yield route, seen
    finally:
        server.close()


async def test_a_connection_closed_before_any_answer_is_retried_once() -> None:
    client = UpstreamClient(timeout_seconds=5)
    async with _upstream(drops=1) as (route, seen):
        answer = await client.complete(route, {"model": "m", "messages": []})
    await client.close()
    assert answer["id"] == "c1"
    assert seen[0] == 2


async def test_an_upstream_that_keeps_closing_is_a_clear_502() -> None:
    client = UpstreamClient(timeout_seconds=5)
    async with _upstream(drops=10) as (route, seen):
        with pytest.raises(UpstreamError) as failed:
            await client.complete(route, {"model": "m", "messages": []})
    await client.close()
    assert failed.value.status_code == 502
    assert "unreachable" in failed.value.message
    assert seen[0] == 2, "one retry, not more"
