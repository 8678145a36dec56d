"""Serve an ASGI app on a real loopback port inside the test's event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from fastapi import FastAPI

from tests.support.processes import free_port


class _QuietServer(uvicorn.Server):
    """A uvicorn server that leaves the test runner's signal handlers alone."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, ws_max_size: int = 16 * 1024 * 1024) -> AsyncIterator[str]:
    """Run `app` on a free port until the block ends; yields `host:port`."""
    port = free_port()
    # proxy_headers off, as `luthien control-plane` runs without LUTHIEN_TRUSTED_PROXIES: the client
    # address is the TCP peer, whatever X-Forwarded-For says.
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        lifespan="off",
        log_level="warning",
        ws_max_size=ws_max_size,
        proxy_headers=False,
    )
    async with serving(config):
        yield f"127.0.0.1:{port}"


@contextlib.asynccontextmanager
async def serving(config: uvicorn.Config) -> AsyncIterator[uvicorn.Server]:
    """Run a server of `config` until the block ends (or the test sets `should_exit`, as a SIGTERM
    would); yields it once it is listening."""
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.005)
    try:
        yield server
    finally:
        server.should_exit = True
        await task
