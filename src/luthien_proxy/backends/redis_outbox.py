"""`RedisOutbox`: queue Redis writes off the request path and send them in pipelined batches.

The bus and the stream-context store both use it, so neither makes a request wait on a Redis round
trip. The queue is bounded: when Redis is gone long enough to fill it, new items are dropped and
counted (with a log line), and a failed batch is dropped too — live events and stream context are
best effort; `debug_logs` is the durable record.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import redis.asyncio as redis
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

Item = TypeVar("Item")
_BATCH = 512


@dataclass(frozen=True)
class _Barrier:
    """Marks a point in the queue; resolved once everything before it has been handled."""

    done: asyncio.Future[None]


class RedisOutbox(Generic[Item]):
    """Items queued with `put`, written by `write(pipeline, batch)` in one background task."""

    def __init__(
        self,
        client: redis.Redis,
        write: Callable[[Any, list[Item]], None],
        *,
        name: str,
        queue_size: int,
    ) -> None:
        self.client = client
        self.name = name
        self._write = write
        self._queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.sent = 0
        self.dropped = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._send_loop(), name=f"luthien-{self.name}")

    async def close(self) -> None:
        """Send what is queued (up to 5 s), then stop."""
        if self._task is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), 5)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    def put(self, item: Item) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.error("%s outbox full: %d items dropped so far", self.name, self.dropped)

    async def flush(self) -> None:
        """Wait until everything queued before this call has been sent (or dropped).

        A barrier in the queue rather than `Queue.join()`: under steady load the queue is never
        empty, and a reader waiting for "empty" would wait as long as the load lasts.
        """
        if self._task is None:
            return
        barrier = _Barrier(asyncio.get_running_loop().create_future())
        await self._queue.put(barrier)  # type: ignore[arg-type]
        await barrier.done

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    async def _send_loop(self) -> None:
        while True:
            queued: list[Any] = [await self._queue.get()]
            while len(queued) < _BATCH and not self._queue.empty():
                queued.append(self._queue.get_nowait())
            batch = [item for item in queued if not isinstance(item, _Barrier)]
            try:
                if batch:
                    async with self.client.pipeline(transaction=False) as pipe:
                        self._write(pipe, batch)
                        await pipe.execute()
                self.sent += len(batch)
                self.last_error = None
            except (RedisError, OSError) as exc:
                self.dropped += len(batch)
                self.last_error = str(exc)
                logger.warning("%s: writing %d items to Redis failed: %s", self.name, len(batch), exc)
            finally:
                for item in queued:
                    if isinstance(item, _Barrier) and not item.done.done():
                        item.done.set_result(None)
                    self._queue.task_done()
