"""Redis stream context: `stream:{call_id}:text` / `:index` keys with a TTL, shared by instances.

Appends are queued and sent in pipelines by one background task, so a stream never waits on a
Redis round trip; reads and clears flush the queue first so they observe every earlier append.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import redis.asyncio as redis
from redis.exceptions import RedisError

from luthien_proxy.streaming.context_store import index_key, text_key

logger = logging.getLogger(__name__)

_BATCH = 512


class RedisStreamContext:
    """Stream context in Redis; pending appends are bounded and dropped (with a log) if Redis is gone."""

    backend = "redis"

    def __init__(self, client: redis.Redis, ttl_seconds: int = 3600, queue_size: int = 100_000) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self._outbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._send_loop(), name="luthien-stream-context")

    async def close(self) -> None:
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), 5)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def append(self, call_id: str, text: str) -> None:
        try:
            self._outbox.put_nowait((call_id, text))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.error("stream context outbox full: %d appends dropped so far", self.dropped)

    async def get_text(self, call_id: str) -> str:
        await self._outbox.join()
        value: bytes | None = await self.client.get(text_key(call_id))  # type: ignore[assignment]
        return value.decode() if value else ""

    async def get_index(self, call_id: str) -> int:
        await self._outbox.join()
        value = await self.client.get(index_key(call_id))
        return int(value) if value else 0

    async def exists(self, call_id: str) -> bool:
        await self._outbox.join()
        return bool(await self.client.exists(text_key(call_id), index_key(call_id)))

    async def clear(self, call_id: str) -> None:
        await self._outbox.join()
        await self.client.delete(text_key(call_id), index_key(call_id))

    async def _send_loop(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < _BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self.client.pipeline(transaction=False) as pipe:
                    for call_id, text in batch:
                        pipe.append(text_key(call_id), text)
                        pipe.incr(index_key(call_id))
                    for call_id in {call_id for call_id, _ in batch}:
                        pipe.expire(text_key(call_id), self.ttl_seconds)
                        pipe.expire(index_key(call_id), self.ttl_seconds)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self.dropped += len(batch)
                logger.warning("writing %d stream-context appends to Redis failed: %s", len(batch), exc)
            finally:
                for _ in batch:
                    self._outbox.task_done()
