"""The suite's own guards work: a non-loopback connection and a blocked event loop fail a test."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support import netguard

REPO = Path(__file__).resolve().parents[2]


def test_a_non_loopback_connection_is_refused_at_once_and_recorded() -> None:
    started = time.perf_counter()
    with pytest.raises(netguard.NonLoopbackError, match=r"192\.0\.2\.1"):
        socket.create_connection(("192.0.2.1", 80), timeout=30)
    with pytest.raises(netguard.NonLoopbackError, match=r"example\.com"):
        socket.getaddrinfo("example.com", 443)
    with socket.socket() as sock, pytest.raises(netguard.NonLoopbackError, match="connect to"):
        sock.connect(("192.0.2.1", 80))  # asyncio connects to IP literals without a lookup
    with pytest.raises(httpx.ConnectError, match="non-loopback"):
        httpx.get("https://example.com/", timeout=30)
    assert time.perf_counter() - started < 5, "refused by the guard, not by a timeout"
    # Recorded too, so a test that swallows the OSError still fails at teardown; taken here.
    refused = netguard.take_violations()
    assert len(refused) == 4 and all("non-loopback" in line for line in refused)


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


BLOCKING_SUITE = """
import asyncio, socket, time

def test_swallows_a_refusal():
    try:
        socket.create_connection(("192.0.2.1", 80), timeout=5)
    except OSError:
        pass

async def test_blocks_the_loop():
    time.sleep(1)

async def test_awaits_politely():
    await asyncio.sleep(0.6)
"""


def test_a_test_that_blocks_the_event_loop_or_swallows_a_refusal_fails(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        "from tests.support.guards import install, suite_guards  # noqa: F401\ninstall()\n"
    )
    (tmp_path / "test_blocking.py").write_text(BLOCKING_SUITE)
    env = {**os.environ, "PYTHONPATH": str(REPO), "LUTHIEN_TEST_LOOP_BLOCK_S": "0.8"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-o",
            "asyncio_mode=auto",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            "--rootdir",
            str(tmp_path),
            "-c",
            os.devnull,
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout + run.stderr
    assert run.returncode == 1, out
    # Each offending test itself passed; its teardown fails it.
    assert "3 passed, 2 errors" in out, out
    assert "ERROR at teardown of test_swallows_a_refusal" in out and "192.0.2.1" in out, out
    assert "teardown of test_awaits_politely" not in out, out
    assert "ERROR at teardown of test_blocks_the_loop" in out, out
    assert "the event loop was blocked for 1.0" in out and "test_blocks_the_loop" in out, out
