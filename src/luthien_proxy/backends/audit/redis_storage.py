"""Redis audit storage: items as JSON with a TTL, shared by every control-plane instance.

Keys: `luthien:audit:item:{id}` (the item), `luthien:audit:claim:{id}` (SET NX: the one decision),
`luthien:audits:pending` (sorted set of pending ids by creation time), `luthien:audits:recent`
(every recent id, trimmed to `MAX_RECENT`). Index entries whose item expired are dropped on read.
"""

from __future__ import annotations

from typing import Final

import orjson
import redis.asyncio as redis

from luthien_proxy.backends.audit.item import AuditItem

PREFIX: Final = "luthien:audit:"
PENDING: Final = "luthien:audits:pending"
RECENT: Final = "luthien:audits:recent"
MAX_RECENT: Final = 1000


def item_key(item_id: str) -> str:
    return f"{PREFIX}item:{item_id}"


class RedisAuditStorage:
    backend = "redis"

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    async def load(self, item_id: str) -> AuditItem | None:
        raw = await self.client.get(item_key(item_id))
        return AuditItem.from_json(orjson.loads(raw)) if raw is not None else None

    async def load_many(self, item_ids: list[str]) -> list[AuditItem]:
        if not item_ids:
            return []
        raws = await self.client.mget([item_key(i) for i in item_ids])
        gone = [i for i, raw in zip(item_ids, raws, strict=True) if raw is None]
        if gone:
            await self.client.zrem(PENDING, *gone)
            await self.client.zrem(RECENT, *gone)
        return [AuditItem.from_json(orjson.loads(raw)) for raw in raws if raw is not None]

    async def save(self, item: AuditItem, ttl_seconds: int) -> None:
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.set(item_key(item.id), orjson.dumps(item.to_json()), ex=ttl_seconds)
            if item.pending:
                pipe.zadd(PENDING, {item.id: item.created_at})
            else:
                pipe.zrem(PENDING, item.id)
            pipe.zadd(RECENT, {item.id: item.created_at})
            pipe.zremrangebyrank(RECENT, 0, -MAX_RECENT - 1)
            await pipe.execute()

    async def claim(self, item_id: str, ttl_seconds: int) -> bool:
        return bool(await self.client.set(f"{PREFIX}claim:{item_id}", b"1", nx=True, ex=ttl_seconds))

    async def pending_ids(self, limit: int) -> list[str]:
        found: list[bytes] = await self.client.zrange(PENDING, 0, limit - 1)  # type: ignore[assignment]
        return [i.decode() for i in found]

    async def recent_ids(self, limit: int) -> list[str]:
        found: list[bytes] = await self.client.zrevrange(RECENT, 0, limit - 1)  # type: ignore[assignment]
        return [i.decode() for i in found]
