"""The Redis outbox's flush waits for what was queued before it, even while others keep queueing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import redis.asyncio as redis

from luthien_proxy.backends.redis_outbox import RedisOutbox
from tests.conftest import REDIS_URL, require_servers


async def test_flush_returns_under_steady_load() -> None:
    require_servers()
    client = redis.Redis.from_url(REDIS_URL)
    key = f"outbox-test:{uuid.uuid4().hex}"

    def write(pipe: Any, batch: list[int]) -> None:
        for _ in batch:
            pipe.incr(key)

    outbox: RedisOutbox[int] = RedisOutbox(client, write, name="test", queue_size=100_000)
    outbox.start()
    stop = asyncio.Event()

    async def keep_queueing() -> None:
        while not stop.is_set():
            for n in range(50):
                outbox.put(n)
            await asyncio.sleep(0)

    load = asyncio.create_task(keep_queueing())
    try:
        for _ in range(20):
            outbox.put(1)
        await asyncio.wait_for(outbox.flush(), 5)  # would hang with Queue.join() under this load
        assert int(await client.get(key) or 0) >= 20
    finally:
        stop.set()
        await load
        await outbox.close()
        await client.delete(key)
        await client.aclose()
