"""`luthien control-plane`: run the control plane until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import gc
import socket
from typing import Any

import uvicorn
import uvloop
from fastapi import FastAPI

from luthien_proxy.control_plane import ControlPlaneServices, StartupError, create_app
from luthien_proxy.settings import Settings
from luthien_proxy.tooling.stack.ports import port_number
from luthien_proxy.tooling.stack.up import is_loopback
from luthien_proxy.web.client_address import server_forwarding


def register(commands: Any) -> None:
    parser = commands.add_parser("control-plane", help="run the control plane (hook API, streams, UI)")
    parser.add_argument("--host", help="address to bind (default LUTHIEN_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=port_number, help="port to bind (default LUTHIEN_PORT or 8081)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    settings = settings.with_overrides(host=args.host, port=args.port)
    require_keys_off_loopback(settings)
    # uvloop (installed with uvicorn[standard]) roughly halves the event loop's cost per request.
    uvloop.run(serve(settings))
    return 0


def require_keys_off_loopback(settings: Settings) -> None:
    """Off loopback, the read APIs and the hook endpoints must not be open to the network."""
    if is_loopback(settings.host):
        return
    missing = [
        name
        for name, value in (
            ("LUTHIEN_ADMIN_KEY", settings.admin_key),
            ("LUTHIEN_PROXY_TOKEN", settings.proxy_token),
        )
        if not value
    ]
    if missing:
        raise StartupError(
            f"binding {settings.host} exposes every prompt to the network; set {' and '.join(missing)} "
            "(or use `luthien up`, which generates them)"
        )


async def serve(settings: Settings) -> None:
    """Open the backends first, so an unreachable server is one clear line, then serve.

    The app's lifespan closes the services; the `finally` only covers a failure before it ran.
    """
    services = await ControlPlaneServices.open(settings)
    try:
        app = create_app(settings, services)
        tune_gc()
        await ControlPlaneServer(server_config(settings, app), app.state.stopping).serve()
    finally:
        await services.close()


#: Allocations between two young-generation collections (Python's default is 700). A call through the
#: native door makes a few hundred container objects, so the default collected every two or three
#: requests, each time walking everything still young (the writer's queued records among it).
GC_YOUNG_THRESHOLD = 20_000


def tune_gc() -> None:
    """Once everything long-lived exists (imports, app, backends): freeze it, so no collection walks
    it again, and collect the young generation less often. Measured on the native door: the cyclic
    collector took 50-80 us a request with the defaults, ~12 us with these (docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


class ControlPlaneServer(uvicorn.Server):
    """uvicorn's server, telling the app when a stop begins (`stopping`): its live SSE streams end
    at once, cleanly, so the grace is spent on calls, not on watchers (who reconnect elsewhere)."""

    def __init__(self, config: uvicorn.Config, stopping: asyncio.Event) -> None:
        super().__init__(config)
        self._stopping = stopping

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._stopping.set()
        await super().shutdown(sockets)


def server_config(settings: Settings, app: FastAPI) -> uvicorn.Config:
    """How the control plane is served. A stop waits `LUTHIEN_SHUTDOWN_GRACE_SECONDS` for in-flight
    calls, then cancels them: a call held for audit must not keep a stopping instance alive (nor
    be decided after it is gone), so it fails closed and its item is marked failed."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        access_log=False,
        ws_max_size=settings.max_body_bytes,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
        **server_forwarding(settings),
    )
