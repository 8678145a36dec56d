"""`RedisClientManager`: one `redis.asyncio` client per URL, checked with PING before it is cached."""

from __future__ import annotations

import redis.asyncio as redis
from redis.exceptions import RedisError


class RedisUnavailable(RuntimeError):
    """Redis did not answer PING."""


class RedisClientManager:
    """Hands out a shared, already-PINGed client per URL and closes them all at shutdown."""

    def __init__(self) -> None:
        self._clients: dict[str, redis.Redis] = {}

    async def get(self, url: str) -> redis.Redis:
        client = self._clients.get(url)
        if client is None:
            client = redis.Redis.from_url(url, socket_connect_timeout=5, health_check_interval=30)
            try:
                await client.ping()
            except (RedisError, OSError) as exc:
                await client.aclose()
                raise RedisUnavailable(f"Redis unreachable at {_safe(url)}: {exc}") from exc
            self._clients[url] = client
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()


def _safe(url: str) -> str:
    """The URL without credentials, for messages."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.rsplit('@', 1)[-1]}"
