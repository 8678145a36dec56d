"""Redis policy state: shared by every control-plane instance, under `luthien:policy:{key}`."""

from __future__ import annotations

from typing import Any

import orjson
import redis.asyncio as redis

from luthien_proxy.backends.policy_state.base import KEY_PREFIX


class RedisPolicyState:
    """Values as JSON strings, counters with INCRBYFLOAT, lists with RPUSH + LTRIM."""

    backend = "redis"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    async def get(self, key: str) -> Any | None:
        raw = await self.client.get(KEY_PREFIX + key)
        return orjson.loads(raw) if raw is not None else None

    async def set(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        await self.client.set(KEY_PREFIX + key, orjson.dumps(value), ex=ttl_seconds)

    async def increment(self, key: str, amount: float = 1.0, ttl_seconds: int | None = None) -> float:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.incrbyfloat(KEY_PREFIX + key, amount)
            if ttl_seconds:
                pipe.expire(KEY_PREFIX + key, ttl_seconds)
            result = await pipe.execute()
        return float(result[0])

    async def push(self, key: str, value: Any, max_items: int = 100, ttl_seconds: int | None = None) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.rpush(KEY_PREFIX + key, orjson.dumps(value))
            pipe.ltrim(KEY_PREFIX + key, -max_items, -1)
            if ttl_seconds:
                pipe.expire(KEY_PREFIX + key, ttl_seconds)
            await pipe.execute()

    async def items(self, key: str) -> list[Any]:
        raw: list[bytes] = await self.client.lrange(KEY_PREFIX + key, 0, -1)  # type: ignore[assignment]
        return [orjson.loads(item) for item in raw]

    async def delete(self, key: str) -> None:
        await self.client.delete(KEY_PREFIX + key)
