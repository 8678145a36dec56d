"""The event-bus interface, and the bounded per-subscriber queue both backends use.

`publish` never awaits: it hands the encoded event over and returns, so the request path does not
wait on Redis. Each subscriber owns a bounded queue; when a slow reader lets it fill, the oldest
message is dropped and counted, so a stalled client cannot grow memory without limit.
"""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

DEFAULT_SUBSCRIBER_QUEUE = 1000


class BusUnavailable(RuntimeError):
    """The event bus backend could not be reached."""


@dataclass(frozen=True)
class BusNotice:
    """Not an event but news about the subscription itself: the backend failed or came back."""

    kind: Literal["bus_error", "bus_recovered"]
    detail: str


class Subscription:
    """Messages (raw JSON bytes) for one subscriber, oldest dropped first on overflow."""

    def __init__(self, maxsize: int = DEFAULT_SUBSCRIBER_QUEUE) -> None:
        self._queue: asyncio.Queue[bytes | BusNotice] = asyncio.Queue(maxsize=maxsize)
        self.dropped = 0

    def deliver(self, message: bytes | BusNotice) -> None:
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(message)

    async def next_item(self, timeout: float | None = None) -> bytes | BusNotice | None:
        """The next message or notice, or None when `timeout` passes first."""
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None

    async def get(self, timeout: float | None = None) -> bytes | None:
        """The next message (notices skipped), or None when `timeout` passes first."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - loop.time())
            item = await self.next_item(remaining)
            if not isinstance(item, BusNotice):
                return item


class EventBus(Protocol):
    """Publish/subscribe for conversation events; in-process or Redis."""

    backend: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise `BusUnavailable` when the backend does not answer."""
        ...

    def publish(self, channels: tuple[str, ...], message: bytes) -> None:
        """Send `message` to every channel; never blocks the caller."""
        ...

    def has_listeners(self, channels: tuple[str, ...]) -> bool:
        """Whether publishing on `channels` can reach anyone (False lets callers skip encoding)."""
        ...

    def subscribe(
        self, channels: tuple[str, ...], maxsize: int = DEFAULT_SUBSCRIBER_QUEUE
    ) -> AbstractAsyncContextManager[Subscription]:
        """A subscription that receives messages published after it is entered."""
        ...

    async def flush(self) -> None:
        """Wait until everything published so far has left this process."""
        ...

    def status(self) -> dict[str, Any]: ...
