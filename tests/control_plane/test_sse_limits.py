"""Live streams are bounded by how many are open, per client address (the TCP peer) and in total."""

from __future__ import annotations

import contextlib

import httpx
import pytest

from luthien_proxy.cli.serve_command import server_config
from luthien_proxy.control_plane import create_app
from tests.conftest import OpenServices
from tests.support.live_server import serve_app, serving
from tests.support.processes import free_port
from tests.support.waiting import eventually

STREAM = "/api/hooks/conversation/stream"


async def _open(client: httpx.AsyncClient, call_id: str, **headers: str) -> httpx.Response:
    """Send a live-stream request and return as soon as the status is known (the stream stays open)."""
    return await client.send(
        client.build_request("GET", STREAM, params={"call_id": call_id}, headers=headers), stream=True
    )


async def test_held_streams_are_bounded_per_client_and_a_closed_one_frees_its_slot(
    open_services: OpenServices,
) -> None:
    services = await open_services(sse_max_streams_per_client=2, sse_max_streams=100)
    async with (
        serve_app(create_app(services.settings, services)) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
        contextlib.AsyncExitStack() as held,
    ):
        streams = [await _open(client, f"c{n}") for n in range(2)]
        for stream in streams:
            held.push_async_callback(stream.aclose)
            assert stream.status_code == 200
        # Another path, or a forwarded-for address of the client's choosing, is the same client.
        refused = [
            await client.get("/api/hooks/conversation/stream_by_trace", params={"trace_id": "t"}),
            await client.get(STREAM, params={"call_id": "c2"}, headers={"x-forwarded-for": "10.1.1.1"}),
            await client.get(STREAM, params={"call_id": "c2"}, headers={"forwarded": "for=10.1.1.2"}),
        ]
        await streams[0].aclose()  # the client hangs up: the server releases the slot

        async def reopened() -> httpx.Response | None:
            response = await _open(client, "c3")
            if response.status_code == 200:
                held.push_async_callback(response.aclose)
                return response
            await response.aclose()
            return None

        await eventually(reopened)
    for response in refused:
        assert response.status_code == 429
        assert "too many open live streams" in response.json()["detail"]
        assert "the limit is 2" in response.json()["detail"]
        assert int(response.headers["retry-after"]) >= 1


async def test_the_total_of_open_streams_is_bounded_across_clients(open_services: OpenServices) -> None:
    services = await open_services(sse_max_streams_per_client=2, sse_max_streams=3)
    async with serve_app(create_app(services.settings, services)) as address:
        # A second loopback address is a second client.
        other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
        async with (
            httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as first,
            httpx.AsyncClient(base_url=f"http://{address}", timeout=10, transport=other) as second,
        ):
            opened = [await _open(first, "a"), await _open(first, "b"), await _open(second, "c")]
            refused = await second.get(STREAM, params={"call_id": "d"})
            for stream in opened:
                assert stream.status_code == 200
                await stream.aclose()
    assert refused.status_code == 429
    assert "this instance's limit is 3" in refused.json()["detail"]


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_the_cli_server_keys_on_the_peer_and_checks_the_host(open_services: OpenServices) -> None:
    """As `luthien control-plane` serves it: its own uvicorn config (`server_config`; uvicorn's default
    trusts X-Forwarded-For from loopback), on a real port, in this process."""
    port = free_port()
    services = await open_services(sse_max_streams_per_client=1, port=port)
    config = server_config(services.settings, create_app(services.settings, services))
    async with (
        serving(config),
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client,
        client.stream("GET", STREAM, params={"call_id": "held"}) as held,
    ):
        spoofing = client.build_request(
            "GET", STREAM, params={"call_id": "x"}, headers={"x-forwarded-for": "10.7.7.7"}
        )
        spoofed = await client.send(spoofing, stream=True)
        await spoofed.aclose()
        rebound = await client.get("/api/debug/types", headers={"host": f"evil.example:{port}"})
        assert held.status_code == 200
    assert spoofed.status_code == 429, "X-Forwarded-For must not make a new client"
    assert rebound.status_code == 421


async def test_a_stop_ends_live_streams_cleanly(open_services: OpenServices) -> None:
    """When the server starts to stop (`luthien control-plane`'s server sets `app.state.stopping`),
    each live stream ends as a complete response, so a graceful stop does not wait on watchers."""
    services = await open_services(sse_max_streams_per_client=5, sse_heartbeat_seconds=30.0)
    app = create_app(services.settings, services)
    async with (
        serve_app(app) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
        client.stream("GET", STREAM, params={"call_id": "watched"}) as watched,
    ):
        lines = watched.aiter_lines()
        assert await anext(lines) == "retry: 2000"
        app.state.stopping.set()
        rest = [line async for line in lines]  # ends, no RemoteProtocolError, long before a heartbeat
    assert rest == [": connected", ""]
