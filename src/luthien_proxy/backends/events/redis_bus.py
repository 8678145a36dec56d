"""Redis pub/sub event bus: events cross control-plane instances.

Publishing goes through a `RedisOutbox`, so the request path never waits on a Redis round trip.
Pub/sub keeps no history; `debug_logs` is the durable record.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from luthien_proxy.backends.events.bus import (
    DEFAULT_SUBSCRIBER_QUEUE,
    BusNotice,
    BusUnavailable,
    Subscription,
)
from luthien_proxy.backends.redis_outbox import RedisOutbox


class RedisBus:
    """Event bus on Redis channels, sharing one client with the rest of the process."""

    backend = "redis"

    def __init__(self, client: redis.Redis, *, queue_size: int = 10_000) -> None:
        self.client = client
        self._outbox: RedisOutbox[tuple[tuple[str, ...], bytes]] = RedisOutbox(
            client, _publish_batch, name="redis-publisher", queue_size=queue_size
        )

    async def start(self) -> None:
        self._outbox.start()

    async def close(self) -> None:
        await self._outbox.close()

    async def ping(self) -> None:
        try:
            await self.client.ping()
        except (RedisError, OSError) as exc:
            raise BusUnavailable(f"Redis unreachable: {exc}") from exc

    async def flush(self) -> None:
        await self._outbox.flush()

    def has_listeners(self, channels: tuple[str, ...]) -> bool:
        # Subscribers may sit on any instance; only Redis knows.
        return True

    def publish(self, channels: tuple[str, ...], message: bytes) -> None:
        self._outbox.put((channels, message))

    @asynccontextmanager
    async def subscribe(
        self, channels: tuple[str, ...], maxsize: int = DEFAULT_SUBSCRIBER_QUEUE
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(maxsize)
        pubsub = self.client.pubsub(ignore_subscribe_messages=False)
        try:
            await pubsub.subscribe(*channels)
            await _await_confirmations(pubsub, len(channels))
        except (RedisError, OSError) as exc:
            await pubsub.aclose()
            raise BusUnavailable(f"Redis subscribe failed: {exc}") from exc
        reader = asyncio.create_task(_pump(pubsub, subscription, channels), name="luthien-redis-subscriber")
        try:
            yield subscription
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
                await reader
            with contextlib.suppress(RedisError, OSError):
                await pubsub.unsubscribe()
            await pubsub.aclose()

    def status(self) -> dict[str, Any]:
        return {
            "backend": self.backend,
            "published": self._outbox.sent,
            "pending": self._outbox.pending,
            "dropped": self._outbox.dropped,
            "last_error": self._outbox.last_error,
        }


def _publish_batch(pipe: Any, batch: list[tuple[tuple[str, ...], bytes]]) -> None:
    for channels, message in batch:
        for channel in channels:
            pipe.publish(channel, message)


async def _await_confirmations(pubsub: Any, expected: int) -> None:
    """Wait for SUBSCRIBE acknowledgements so nothing published afterwards is missed."""
    confirmed = 0
    while confirmed < expected:
        message = await pubsub.get_message(timeout=5.0)
        if message is None:
            raise BusUnavailable("Redis did not confirm the subscription within 5s")
        if message["type"] == "subscribe":
            confirmed += 1


async def _pump(pubsub: Any, subscription: Subscription, channels: tuple[str, ...]) -> None:
    """Relay messages; when Redis fails, tell the subscriber, resubscribe with backoff, and say so."""
    delay = 0.2
    while True:
        try:
            async for message in pubsub.listen():
                if message["type"] == "message":
                    subscription.deliver(message["data"])
                    delay = 0.2
            return
        except (RedisError, OSError) as exc:
            subscription.deliver(BusNotice("bus_error", f"live events interrupted: {exc}; reconnecting"))
            while True:
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                try:
                    await pubsub.reset()
                    await pubsub.subscribe(*channels)
                    await _await_confirmations(pubsub, len(channels))
                    break
                except (RedisError, OSError, BusUnavailable):
                    continue
            subscription.deliver(
                BusNotice("bus_recovered", "live events resumed; events during the gap are missing")
            )
