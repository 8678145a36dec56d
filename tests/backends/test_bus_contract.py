"""The event bus contract, run against the in-process bus and Redis pub/sub alike."""

from __future__ import annotations

import orjson

from luthien_proxy.backends.events import ConversationEvents, call_channel, trace_channel
from luthien_proxy.backends.events.bus import Subscription
from tests.conftest import OpenServices


async def test_events_reach_call_and_trace_channels_in_order(open_services: OpenServices) -> None:
    services = await open_services()
    events = ConversationEvents(services.bus)
    async with (
        services.bus.subscribe((call_channel("c-1"),)) as by_call,
        services.bus.subscribe((trace_channel("t-1"),)) as by_trace,
    ):
        for kind in ("request_started", "original_chunk", "final_chunk", "request_completed"):
            events.emit(kind, "c-1", "t-1", "hook", {"kind": kind})  # type: ignore[arg-type]
        events.emit("request_started", "c-2", "t-1", "hook", {"kind": "other call"})
        await services.bus.flush()
        call_events = [orjson.loads(await _next(by_call)) for _ in range(4)]
        trace_events = [orjson.loads(await _next(by_trace)) for _ in range(5)]
    assert [e["type"] for e in call_events] == [
        "request_started",
        "original_chunk",
        "final_chunk",
        "request_completed",
    ]
    assert [e["sequence"] for e in call_events] == [0, 1, 2, 3]
    assert all(e["call_id"] == "c-1" and e["trace_id"] == "t-1" and e["timestamp"] > 0 for e in call_events)
    assert {e["call_id"] for e in trace_events} == {"c-1", "c-2"}
    assert trace_events[-1]["sequence"] == 0, "sequence numbers are per call"


async def test_subscriber_sees_only_its_channels_and_nothing_after_leaving(
    open_services: OpenServices,
) -> None:
    services = await open_services()
    async with services.bus.subscribe((call_channel("mine"),)) as subscription:
        services.bus.publish((call_channel("theirs"),), b'{"n": 0}')
        services.bus.publish((call_channel("mine"),), b'{"n": 1}')
        await services.bus.flush()
        assert await _next(subscription) == b'{"n": 1}'
        assert await subscription.get(timeout=0.2) is None
    services.bus.publish((call_channel("mine"),), b'{"n": 2}')
    await services.bus.flush()
    assert await subscription.get(timeout=0.2) is None


async def test_ping_answers_when_backend_is_up(open_services: OpenServices) -> None:
    services = await open_services()
    await services.bus.ping()
    assert services.bus.status()["backend"] in {"memory", "redis"}


async def test_slow_subscriber_queue_is_bounded_and_drops_oldest() -> None:
    subscription = Subscription(maxsize=3)
    for n in range(5):
        subscription.deliver(str(n).encode())
    assert subscription.dropped == 2
    assert [await subscription.get(timeout=1) for _ in range(3)] == [b"2", b"3", b"4"]


async def _next(subscription: Subscription) -> bytes:
    message = await subscription.get(timeout=5)
    assert message is not None, "no event within 5s"
    return message


async def test_burst_to_a_slow_subscriber_keeps_only_the_newest(open_services: OpenServices) -> None:
    services = await open_services()
    async with services.bus.subscribe((call_channel("burst"),), maxsize=100) as subscription:
        for n in range(2000):
            services.bus.publish((call_channel("burst"),), str(n).encode())
        await services.bus.flush()
        last = b""
        while last != b"1999":
            last = await _next(subscription)
        assert subscription.dropped >= 1900 - 100
