"""Redis stream context: `stream:{call_id}:text` / `:index` keys with a TTL, shared by instances.

Appends go through a `RedisOutbox`, so a stream never waits on a Redis round trip; reads and
clears flush it first so they observe every earlier append.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis

from luthien_proxy.redis_outbox import RedisOutbox
from luthien_proxy.streaming.context_store import index_key, text_key


class RedisStreamContext:
    """Stream context in Redis; appends go through a bounded `RedisOutbox`."""

    backend = "redis"

    def __init__(self, client: redis.Redis, ttl_seconds: int = 3600, queue_size: int = 100_000) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        self._outbox: RedisOutbox[tuple[str, str]] = RedisOutbox(
            client, self._write_appends, name="stream-context", queue_size=queue_size
        )

    async def start(self) -> None:
        self._outbox.start()

    async def close(self) -> None:
        await self._outbox.close()

    def append(self, call_id: str, text: str) -> None:
        self._outbox.put((call_id, text))

    async def get_text(self, call_id: str) -> str:
        await self._outbox.flush()
        value: bytes | None = await self.client.get(text_key(call_id))  # type: ignore[assignment]
        return value.decode() if value else ""

    async def get_index(self, call_id: str) -> int:
        await self._outbox.flush()
        value = await self.client.get(index_key(call_id))
        return int(value) if value else 0

    async def exists(self, call_id: str) -> bool:
        await self._outbox.flush()
        return bool(await self.client.exists(text_key(call_id), index_key(call_id)))

    async def clear(self, call_id: str) -> None:
        await self._outbox.flush()
        await self.client.delete(text_key(call_id), index_key(call_id))

    def _write_appends(self, pipe: Any, batch: list[tuple[str, str]]) -> None:
        for call_id, text in batch:
            pipe.append(text_key(call_id), text)
            pipe.incr(index_key(call_id))
        for call_id in {call_id for call_id, _ in batch}:
            pipe.expire(text_key(call_id), self.ttl_seconds)
            pipe.expire(index_key(call_id), self.ttl_seconds)
