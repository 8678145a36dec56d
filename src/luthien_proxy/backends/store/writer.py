"""`DebugLogWriter`: a bounded queue that batches debug records into the store off the request path.

`record()` never awaits: the request path enqueues and moves on. One background task drains the
queue in batches, waiting `linger_seconds` after the first record so a batch can collect (one
transaction per request costs more CPU than the request itself). A batch that fails while the
database is down is retried with backoff while the queue keeps filling, and `close()` flushes
what is left, so a graceful stop loses nothing. A batch that fails while the database answers
holds a record it refuses: the batch is written record by record and the refused one is set
aside (`storage.rejects`), so one bad record never stops the records behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from luthien_proxy.backends.store import rejects
from luthien_proxy.backends.store.store import DebugLogStore, DebugRecord

#: How long after a record was set aside `status()` still says records are failing.
SET_ASIDE_RECENT_SECONDS = 600.0

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
        self.set_aside = 0
        self.last_set_aside_error: str | None = None
        self._last_set_aside_at: float | None = None
        #: When the oldest record not yet written was made (the head of the batch being written).
        self._oldest_unwritten: datetime | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="luthien-debug-log-writer")

    def record(self, debug_type: str, jsonblob: dict[str, Any], at: datetime | None = None) -> None:
        """Queue one record for writing; never blocks. A full queue drops the record and says so.

        The blob is encoded now, so later changes to the same objects (a policy editing the request
        in place) cannot alter what is recorded; NUL is replaced on the way (`rejects.encode`).
        """
        debug_type, encoded = rejects.encode(debug_type, jsonblob)
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

    @property
    def lag_seconds(self) -> float:
        """How old the oldest record not yet written is (0 when the writer is idle): how far the
        database is behind what happened."""
        oldest = self._oldest_unwritten
        if oldest is None:
            return 0.0
        if oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        return max((datetime.now(UTC) - oldest).total_seconds(), 0.0)

    @property
    def failing(self) -> bool:
        """Records are not being written as they should: a write is failing now, or a record was set
        aside in the last `SET_ASIDE_RECENT_SECONDS`."""
        recent = self._last_set_aside_at is not None and (
            time.monotonic() - self._last_set_aside_at < SET_ASIDE_RECENT_SECONDS
        )
        return self.last_error is not None or recent

    def status(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "capacity": self._queue.maxsize,
            "lag_seconds": round(self.lag_seconds, 3),
            "written": self.written,
            "dropped": self.dropped,
            "failed_attempts": self.failed_attempts,
            "last_error": self.last_error,
            "set_aside": self.set_aside,
            "last_set_aside_error": self.last_set_aside_error,
            "failing": self.failing,
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
            # Records leave the queue in order: the batch's head is the oldest not yet written.
            self._oldest_unwritten = batch[0].time_created
            if self.linger_seconds and self._queue.qsize() < self.batch_size:
                await asyncio.sleep(self.linger_seconds)
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write_with_retry(batch)
            self._oldest_unwritten = None
            for _ in batch:
                self._queue.task_done()

    async def _write_with_retry(self, batch: Sequence[DebugRecord]) -> None:
        """Write `batch`; while the database is down, retry with backoff; while it answers, a failure
        is a record it refuses: write one by one and set that one aside."""
        delay = 0.1
        pending = list(batch)
        while pending:
            try:
                await self.store.insert_many(pending)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                if rejects.blames_the_record(exc) or await self._database_answers():
                    pending = await self._one_by_one(pending)
                    if not pending:
                        return
                logger.warning(
                    "writing %d debug records failed, retrying in %.1fs: %s",
                    len(pending),
                    delay,
                    self.last_error,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            else:
                self.written += len(pending)
                self.last_error = None
                return

    async def _one_by_one(self, records: list[DebugRecord]) -> list[DebugRecord]:
        """Write each record alone, setting aside those the database refuses; returns the records not
        written because the database stopped answering."""
        for index, record in enumerate(records):
            try:
                await self.store.insert_many([record])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self._failed(exc)
                if not (rejects.blames_the_record(exc) or await self._database_answers()):
                    return records[index:]
                await self._set_aside(record, exc)
            else:
                self.written += 1
        self.last_error = None
        return []

    async def _set_aside(self, record: DebugRecord, exc: BaseException) -> None:
        """Store a placeholder (ids, hook, error type) instead of `record`; drop it if that fails too."""
        self.set_aside += 1
        self.last_set_aside_error = rejects.describe(exc)
        self._last_set_aside_at = time.monotonic()
        try:
            await self.store.insert_many([rejects.placeholder(record, exc)])
            kept = "a placeholder row kept its ids"
        except asyncio.CancelledError:
            raise
        except Exception as placeholder_exc:
            kept = f"its placeholder failed too ({rejects.describe(placeholder_exc)}), dropped"
        # Never the record, nor str(exc): both can quote the prompt.
        logger.error(
            "debug record %s set aside, the database refused it (%s); %s; %d set aside so far",
            record.debug_type_identifier,
            self.last_set_aside_error,
            kept,
            self.set_aside,
        )

    async def _database_answers(self) -> bool:
        try:
            await self.store.ping()
        except asyncio.CancelledError:
            raise
        except Exception:
            return False
        return True

    def _failed(self, exc: BaseException) -> None:
        self.failed_attempts += 1
        self.last_error = rejects.describe(exc)
