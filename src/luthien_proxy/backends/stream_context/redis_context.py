"""Redis stream context: `stream:{call_id}:text` / `:index` keys with a TTL, shared by instances.

Appends go through a `RedisOutbox`, so a stream never waits on a Redis round trip; reads and
clears flush it first so they observe every earlier append.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as redis

from luthien_proxy.backends.redis_outbox import RedisOutbox
from luthien_proxy.backends.stream_context.context_store import index_key, text_key


class RedisStreamContext:
    """Stream context in Redis; appends go through a bounded `RedisOutbox`."""

    backend = "redis"

    def __init__(self, client: redis.Redis, ttl_seconds: int = 3600, queue_size: int = 100_000) -> None:
        self.client = client
        self.ttl_seconds = ttl_seconds
        # (call_id, text) appends; (call_id, None) clears, queued behind the call's appends.
        self._outbox: RedisOutbox[tuple[str, str | None]] = RedisOutbox(
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
        """Queue the deletion behind the call's appends; the stream's end never waits on Redis."""
        self._outbox.put((call_id, None))

    def _write_appends(self, pipe: Any, batch: list[tuple[str, str | None]]) -> None:
        # One APPEND and one INCRBY per call per batch, not per chunk: under load the commands
        # themselves are the cost.
        pending: dict[str, list[str]] = {}
        for call_id, text in batch:
            if text is None:
                pending.pop(call_id, None)
                pipe.delete(text_key(call_id), index_key(call_id))
            else:
                pending.setdefault(call_id, []).append(text)
        for call_id, parts in pending.items():
            pipe.append(text_key(call_id), "".join(parts))
            pipe.incrby(index_key(call_id), len(parts))
            pipe.expire(text_key(call_id), self.ttl_seconds)
            pipe.expire(index_key(call_id), self.ttl_seconds)
