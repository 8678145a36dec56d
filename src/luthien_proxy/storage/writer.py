"""`DebugLogWriter`: a bounded queue that batches debug records into the store off the request path.

`record()` never awaits: the request path enqueues and moves on. One background task drains the
queue in batches, waiting `linger_seconds` after the first record so a batch can collect (one
transaction per request costs more CPU than the request itself). A failed batch is retried with
backoff while the queue keeps filling, and `close()` flushes what is left, so a graceful stop
loses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from typing import Any

import orjson

from luthien_proxy.storage.store import DebugLogStore, DebugRecord, EncodedJson

logger = logging.getLogger(__name__)


class DebugLogWriter:
    """Single writer task feeding `DebugLogStore.insert_many` from a bounded queue."""

    def __init__(
        self,
        store: DebugLogStore,
        *,
        queue_size: int = 50_000,
        batch_size: int = 500,
        linger_seconds: float = 0.05,
    ) -> None:
        self.store = store
        self.batch_size = batch_size
        self.linger_seconds = linger_seconds
        self._queue: asyncio.Queue[DebugRecord] = asyncio.Queue(maxsize=queue_size)
        self._task: asyncio.Task[None] | None = None
        self.written = 0
        self.dropped = 0
        self.failed_attempts = 0
        self.last_error: str | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="luthien-debug-log-writer")

    def record(self, debug_type: str, jsonblob: dict[str, Any], at: datetime | None = None) -> None:
        """Queue one record for writing; never blocks. A full queue drops the record and says so.

        The blob is encoded now, so later changes to the same objects (a policy editing the request
        in place) cannot alter what is recorded.
        """
        encoded = EncodedJson(orjson.dumps(jsonblob).decode())
        try:
            self._queue.put_nowait(DebugRecord(debug_type, encoded, at or datetime.now(UTC)))
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                logger.error(
                    "debug log queue full (%d records): %d records dropped so far",
                    self._queue.maxsize,
                    self.dropped,
                )

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def status(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "capacity": self._queue.maxsize,
            "written": self.written,
            "dropped": self.dropped,
            "failed_attempts": self.failed_attempts,
            "last_error": self.last_error,
        }

    async def flush(self) -> None:
        """Wait until everything queued so far is in the database."""
        await self._queue.join()

    async def close(self, timeout: float = 30.0) -> None:
        """Flush what is queued (up to `timeout` seconds), then stop the writer task."""
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._queue.join(), timeout)
        except TimeoutError:
            logger.error("shutdown: %d debug records could not be written in %.0fs", self.pending, timeout)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self.linger_seconds and self._queue.qsize() < self.batch_size:
                await asyncio.sleep(self.linger_seconds)
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write_with_retry(batch)
            for _ in batch:
                self._queue.task_done()

    async def _write_with_retry(self, batch: list[DebugRecord]) -> None:
        delay = 0.1
        while True:
            try:
                await self.store.insert_many(batch)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.failed_attempts += 1
                self.last_error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
                logger.warning(
                    "writing %d debug records failed, retrying in %.1fs: %s", len(batch), delay, exc
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self.written += len(batch)
                self.last_error = None
                return
