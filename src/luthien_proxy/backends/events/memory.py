"""In-process event bus: the embedded default when no `REDIS_URL` is set."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from luthien_proxy.backends.events.bus import DEFAULT_SUBSCRIBER_QUEUE, Subscription


class InProcessBus:
    """Fan-out to subscriber queues within this process."""

    backend = "memory"

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[Subscription]] = defaultdict(set)
        self.published = 0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subscribers.clear()

    async def ping(self) -> None:
        return None

    async def flush(self) -> None:
        return None

    def has_listeners(self, channels: tuple[str, ...]) -> bool:
        return any(channel in self._subscribers for channel in channels)

    def publish(self, channels: tuple[str, ...], message: bytes) -> None:
        self.published += 1
        for channel in channels:
            for subscription in self._subscribers.get(channel, ()):
                subscription.deliver(message)

    @asynccontextmanager
    async def subscribe(
        self, channels: tuple[str, ...], maxsize: int = DEFAULT_SUBSCRIBER_QUEUE
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(maxsize)
        for channel in channels:
            self._subscribers[channel].add(subscription)
        try:
            yield subscription
        finally:
            for channel in channels:
                members = self._subscribers.get(channel)
                if members is not None:
                    members.discard(subscription)
                    if not members:
                        del self._subscribers[channel]

    def status(self) -> dict[str, Any]:
        return {"backend": self.backend, "published": self.published, "channels": len(self._subscribers)}
