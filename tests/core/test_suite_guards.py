"""The suite's own guards work: a non-loopback connection fails a test."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from tests.support import netguard


def test_a_non_loopback_connection_is_refused_at_once_and_recorded() -> None:
    started = time.perf_counter()
    with pytest.raises(netguard.NonLoopbackError, match=r"192\.0\.2\.1"):
        socket.create_connection(("192.0.2.1", 80), timeout=30)
    with pytest.raises(netguard.NonLoopbackError, match=r"example\.com"):
        socket.getaddrinfo("example.com", 443)
    with pytest.raises(httpx.ConnectError, match="non-loopback"):
        httpx.get("https://example.com/", timeout=30)
    assert time.perf_counter() - started < 5, "refused by the guard, not by a timeout"
    # Recorded too, so a test that swallows the OSError still fails at teardown; taken here.
    refused = netguard.take_violations()
    assert len(refused) == 3 and all("non-loopback" in line for line in refused)


async def test_loopback_connections_still_work() -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        for host in ("127.0.0.1", "localhost"):
            reader, writer = await asyncio.open_connection(host, port)
            assert await reader.read() == b"ok"
            writer.close()
            await writer.wait_closed()
    assert netguard.take_violations() == []
