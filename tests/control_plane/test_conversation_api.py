"""Read APIs and live SSE streams, on both backends, through a real server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest

from luthien_proxy.backends.events import call_channel
from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.model import Request
from luthien_proxy.policies import AllCapsPolicy, PolicyContext, PolicyRejection
from tests.conftest import REDIS_URL, Backend, OpenServices, require_servers
from tests.control_plane.test_hooks_api import pre_call_payload, success_payload
from tests.support.live_server import serve_app
from tests.support.sse_client import next_events_until_completed, sse_items
from tests.support.stream_client import run_stream


class CapsButRefuseSecrets(AllCapsPolicy):
    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        if "secret" in request.text():
            raise PolicyRejection("no secrets here")
        return None


async def _plain_call(
    client: httpx.AsyncClient, call_id: str, trace_id: str, prompt: str = "hello there"
) -> None:
    await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload(call_id, prompt, trace_id))
    await client.post(
        "/api/hooks/async_post_call_success_hook", json=success_payload(call_id, trace_id=trace_id)
    )


@pytest.fixture
async def served(
    open_services: OpenServices,
) -> AsyncIterator[tuple[httpx.AsyncClient, str, ControlPlaneServices]]:
    services = await open_services(CapsButRefuseSecrets(), sse_heartbeat_seconds=0.2)
    async with (
        serve_app(create_app(services.settings, services)) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
    ):
        yield client, address, services


async def test_snapshots_of_plain_streamed_and_rejected_calls(served: Any) -> None:
    client, address, services = served
    await _plain_call(client, "plain-1", "trace-X")
    await client.post(
        "/api/hooks/async_pre_call_hook", json=pre_call_payload("stream-1", "stream please", "trace-X")
    )
    await run_stream(address, "stream-1", ["one ", "two"], trace_id="trace-X")
    await _wait_for_status(client, services, "stream-1", "success")
    refused = await client.post(
        "/api/hooks/async_pre_call_hook", json=pre_call_payload("rej-1", "a secret", "trace-Y")
    )
    assert refused.status_code == 403
    await services.writer.flush()

    plain = (await client.get("/api/hooks/conversation", params={"call_id": "plain-1"})).json()
    assert plain["trace_id"] == "trace-X"
    assert [e["type"] for e in plain["events"]] == ["request_started", "request_completed"]
    view = plain["call"]
    assert (view["status"], view["streamed"], view["model"]) == ("success", False, "demo-echo")
    assert view["request"]["original"] == [{"role": "user", "content": "hello there"}]
    assert view["response"] == {"original": "hello back", "final": "HELLO BACK"}

    streamed = (await client.get("/api/hooks/conversation", params={"call_id": "stream-1"})).json()["call"]
    assert (streamed["status"], streamed["streamed"]) == ("success", True)
    assert streamed["chunks"] == {"original": ["one ", "two"], "final": ["ONE ", "TWO"]}
    assert streamed["response"] == {"original": "one two", "final": "ONE TWO"}

    rejected = (await client.get("/api/hooks/conversation", params={"call_id": "rej-1"})).json()["call"]
    assert rejected["status"] == "rejected"
    assert rejected["decisions"] == [{"action": "reject", "message": "no secrets here", "status_code": 403}]
    assert rejected["error"] == "no secrets here"

    by_trace = (await client.get("/api/hooks/conversation/by_trace", params={"trace_id": "trace-X"})).json()
    assert [c["call_id"] for c in by_trace["calls"]] == ["plain-1", "stream-1"]

    calls = (await client.get("/api/hooks/recent_call_ids", params={"limit": 10})).json()["calls"]
    # The stream's summary may land after the rejection, so only plain-1's place is certain.
    assert {c["call_id"] for c in calls} == {"rej-1", "stream-1", "plain-1"}
    assert calls[-1]["call_id"] == "plain-1"
    statuses = {c["call_id"]: c["status"] for c in calls}
    assert statuses["plain-1"] == statuses["rej-1"] == "completed", "a rejected call is over too"
    assert {c["call_id"]: c["trace_id"] for c in calls}["stream-1"] == "trace-X"
    traces = (await client.get("/api/hooks/recent_traces")).json()["traces"]
    assert {t["trace_id"]: t["call_count"] for t in traces} == {"trace-X": 2, "trace-Y": 1}

    trace = (await client.get("/api/hooks/trace_by_call_id", params={"call_id": "plain-1"})).json()
    hooks = [e["debug_type_identifier"] for e in trace["entries"]]
    assert hooks == [
        "hook:async_pre_call_hook",
        "hook_result:async_pre_call_hook",
        "hook:async_post_call_success_hook",
        "hook_result:async_post_call_success_hook",
        "call:summary",
    ]
    offsets = [e["offset_ms"] for e in trace["entries"]]
    assert offsets[0] == 0 and offsets == sorted(offsets)


async def test_snapshot_events_match_the_live_events(served: Any) -> None:
    client, address, services = served
    async with (
        services.bus.subscribe((call_channel("same-1"),)) as live_plain,
        services.bus.subscribe((call_channel("same-2"),)) as live_stream,
    ):
        await _plain_call(client, "same-1", "trace-S")
        await run_stream(address, "same-2", ["a ", "b ", "c"], trace_id="trace-S")
        await services.bus.flush()
        live = [orjson.loads(m) for m in await _drain(live_plain, 2)]
        live += [orjson.loads(m) for m in await _drain(live_stream, 7)]
    await services.writer.flush()
    snapshot = (await client.get("/api/hooks/conversation/by_trace", params={"trace_id": "trace-S"})).json()[
        "events"
    ]
    assert [(e["call_id"], e["sequence"], e["type"], e["payload"]) for e in snapshot] == [
        (e["call_id"], e["sequence"], e["type"], e["payload"]) for e in live
    ]
    assert all(abs(a["timestamp"] - b["timestamp"]) < 1e-5 for a, b in zip(snapshot, live, strict=True))


async def _wait_for_status(
    client: httpx.AsyncClient, services: ControlPlaneServices, call_id: str, status: str
) -> None:
    """The stream summary is recorded just after END reaches the client; wait for it to land."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        await services.writer.flush()
        response = await client.get("/api/hooks/conversation", params={"call_id": call_id})
        if response.status_code == 200 and response.json()["call"]["status"] == status:
            return
        assert loop.time() < deadline, f"{call_id} never reached status {status}"
        await asyncio.sleep(0.02)


async def _drain(subscription: Any, count: int) -> list[bytes]:
    messages = []
    for _ in range(count):
        message = await subscription.get(timeout=5)
        assert message is not None
        messages.append(message)
    return messages


@pytest.mark.parametrize(
    ("path", "status", "fragment"),
    [
        ("/api/hooks/conversation?call_id=nope", 404, "no records for call_id 'nope'"),
        ("/api/hooks/conversation/by_trace?trace_id=nope", 404, "no records for trace_id 'nope'"),
        ("/api/hooks/trace_by_call_id?call_id=nope", 404, "no records"),
        ("/api/hooks/conversation", 422, "call_id"),
        ("/api/hooks/conversation?call_id=", 422, "call_id"),
        ("/api/hooks/recent_call_ids?limit=0", 422, "limit"),
        ("/api/hooks/recent_traces?limit=many", 422, "limit"),
    ],
)
async def test_unknown_ids_and_bad_parameters(served: Any, path: str, status: int, fragment: str) -> None:
    client, _, _ = served
    response = await client.get(path)
    assert response.status_code == status
    assert fragment in response.text


async def test_sse_streams_a_call_and_its_trace_live(served: Any) -> None:
    client, address, _ = served
    async with (
        client.stream("GET", "/api/hooks/conversation/stream", params={"call_id": "live-1"}) as by_call,
        client.stream(
            "GET", "/api/hooks/conversation/stream_by_trace", params={"trace_id": "trace-L"}
        ) as by_trace,
    ):
        assert by_call.status_code == 200 and by_call.headers["content-type"].startswith("text/event-stream")
        call_items, trace_items = sse_items(by_call), sse_items(by_trace)
        assert await anext(call_items) == ("comment", "connected")
        assert await anext(trace_items) == ("comment", "connected")
        await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload("live-1", "hi", "trace-L"))
        await run_stream(address, "live-1", ["x ", "y"], trace_id="trace-L")
        call_events = await asyncio.wait_for(next_events_until_completed(call_items), 10)
        trace_events = await asyncio.wait_for(next_events_until_completed(trace_items), 10)
    assert [e["type"] for e in call_events] == [
        "request_started",
        "original_chunk",
        "final_chunk",
        "original_chunk",
        "final_chunk",
        "request_completed",
    ]
    assert [e["sequence"] for e in call_events] == list(range(6))
    assert call_events == trace_events
    assert call_events[-1]["payload"]["final_text"] == "X Y"


async def test_sse_sends_heartbeats_when_idle(served: Any) -> None:
    client, _, _ = served
    async with client.stream(
        "GET", "/api/hooks/conversation/stream", params={"call_id": "quiet"}
    ) as response:
        items = sse_items(response)
        assert await anext(items) == ("comment", "connected")
        assert await asyncio.wait_for(anext(items), 5) == ("comment", "heartbeat")


async def test_sse_unsubscribes_when_the_client_goes(served: Any, backend: Backend) -> None:
    client, _, services = served
    channel = call_channel("leaving")
    async with client.stream(
        "GET", "/api/hooks/conversation/stream", params={"call_id": "leaving"}
    ) as response:
        items = sse_items(response)  # keep a reference: a collected generator closes the stream
        assert await anext(items) == ("comment", "connected")
        assert await _subscriber_count(services, channel) == 1
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await _subscriber_count(services, channel):
        assert loop.time() < deadline, "subscription still open after the client left"
        await asyncio.sleep(0.02)


async def _subscriber_count(services: ControlPlaneServices, channel: str) -> int:
    client = getattr(services.bus, "client", None)
    if client is not None:
        [(_, count)] = await client.pubsub_numsub(channel)
        return int(count)
    return len(services.bus._subscribers.get(channel, ()))  # type: ignore[attr-defined]


async def test_event_from_one_instance_reaches_sse_on_another(postgres_url: str) -> None:
    require_servers()
    server = Backend("server", postgres_url, REDIS_URL)
    first = await ControlPlaneServices.open(server.settings(), policy=AllCapsPolicy())
    second = await ControlPlaneServices.open(server.settings(), policy=AllCapsPolicy())
    try:
        async with (
            serve_app(create_app(first.settings, first)) as first_address,
            serve_app(create_app(second.settings, second)) as second_address,
            httpx.AsyncClient(base_url=f"http://{first_address}", timeout=10) as to_first,
            httpx.AsyncClient(base_url=f"http://{second_address}", timeout=10) as to_second,
            to_second.stream(
                "GET", "/api/hooks/conversation/stream_by_trace", params={"trace_id": "cross"}
            ) as live,
        ):
            items = sse_items(live)
            assert await anext(items) == ("comment", "connected")
            await _plain_call(to_first, "cross-1", "cross")
            events = await asyncio.wait_for(next_events_until_completed(items), 10)
    finally:
        await first.close()
        await second.close()
    assert [e["type"] for e in events] == ["request_started", "request_completed"]
    assert events[-1]["payload"]["final"]["choices"][0]["message"]["content"] == "HELLO BACK"
