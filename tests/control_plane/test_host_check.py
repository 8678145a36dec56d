"""DNS rebinding: the control plane serves loopback names and the configured ones, nothing else."""

from __future__ import annotations

import asyncio
import base64
import os
import socket

import httpx
import pytest

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.control_plane.host_check import HostCheck
from tests.conftest import OpenServices
from tests.support.live_server import serve_app

#: The check runs before any backend is touched: one backend is enough.
embedded_only = pytest.mark.parametrize("backend", ["embedded"], indirect=True)

#: Every kind of control-plane route: read API, UI page, native door, hook API, health.
ROUTES = [
    ("GET", "/api/debug/types"),
    ("GET", "/ui"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/api/hooks/async_pre_call_hook"),
    ("GET", "/health"),
]


def _client(services: ControlPlaneServices, host: str) -> httpx.AsyncClient:
    app = create_app(services.settings, services)
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://localhost", headers={"host": host})


@embedded_only
async def test_loopback_names_are_served_without_an_admin_key(open_services: OpenServices) -> None:
    services = await open_services()
    for host in (
        "localhost",
        "localhost:8081",
        "LocalHost.",
        "127.0.0.1:9",
        "127.8.9.10",
        "[::1]:8081",
        "[::1]",
    ):
        async with _client(services, host) as client:
            response = await client.get("/api/debug/types")
        assert response.status_code == 200, (host, response.text)


@embedded_only
@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:8081", "127.0.0.1.evil.example", "localhost.evil.example", "[::2]:80"],
)
async def test_a_foreign_host_is_refused_on_every_route(open_services: OpenServices, host: str) -> None:
    services = await open_services()
    async with _client(services, host) as client:
        for method, path in ROUTES:
            response = await client.request(method, path, json={"data": {}})
            assert response.status_code == 421, (method, path)
            assert "LUTHIEN_ALLOWED_HOSTS" in response.json()["detail"]
            assert host in response.json()["detail"]


@embedded_only
async def test_configured_and_bound_names_are_served(open_services: OpenServices) -> None:
    services = await open_services(allowed_hosts=("cp.internal", "10.9.8.7:8081"), host="192.0.2.10")
    for host in ("cp.internal:8081", "CP.INTERNAL", "10.9.8.7", "192.0.2.10:8081", "localhost"):
        async with _client(services, host) as client:
            assert (await client.get("/api/debug/types")).status_code == 200, host
    async with _client(services, "cp.internal.evil.example") as client:
        assert (await client.get("/api/debug/types")).status_code == 421


@embedded_only
async def test_a_wildcard_bind_serves_this_machines_name_and_star_serves_any(
    open_services: OpenServices,
) -> None:
    wildcard = await open_services(host="0.0.0.0")
    async with _client(wildcard, socket.gethostname()) as client:
        assert (await client.get("/api/debug/types")).status_code == 200
    async with _client(wildcard, "0.0.0.0.evil.example") as client:
        assert (await client.get("/api/debug/types")).status_code == 421
    anything = await open_services(allowed_hosts=("*",))
    async with _client(anything, "whatever.example") as client:
        assert (await client.get("/api/debug/types")).status_code == 200


async def test_a_request_without_a_host_is_refused() -> None:
    sent: list[dict[str, object]] = []

    async def app(scope: object, receive: object, send: object) -> None:
        raise AssertionError("the route must not run")

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    await HostCheck(app)(scope, receive, send)  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    assert b"no Host header" in sent[1]["body"]  # type: ignore[operator]


async def _handshake(address: str, host: str) -> bytes:
    """The status line of a WebSocket handshake on /api/link sent with `host`."""
    hostname, port = address.split(":")
    reader, writer = await asyncio.open_connection(hostname, int(port))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        f"GET /api/link HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()
    return status


@embedded_only
async def test_websocket_handshakes_check_the_host_too(open_services: OpenServices) -> None:
    services = await open_services()
    async with serve_app(create_app(services.settings, services)) as address:
        refused = await _handshake(address, "evil.example")
        accepted = await _handshake(address, address)
    assert refused.startswith(b"HTTP/1.1 403"), refused
    assert accepted.startswith(b"HTTP/1.1 101"), accepted
