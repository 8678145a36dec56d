"""Retention for `debug_logs`: delete records older than a cutoff in small batches.

Each batch is its own short transaction, so writers are never locked out for long; the optional
background task (`LUTHIEN_DEBUG_LOG_RETENTION_DAYS`) runs the same deletion periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func, select

from luthien_proxy.backends.store.call_index import call_index
from luthien_proxy.backends.store.schema import debug_logs
from luthien_proxy.backends.store.store import DebugLogStore
from luthien_proxy.wire import POLICY_RECORD_TYPE

logger = logging.getLogger(__name__)

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


#: What retention never deletes: the policies set through the API (the newest is the active one).
_KEPT = debug_logs.c.debug_type_identifier != POLICY_RECORD_TYPE


def parse_duration(text: str) -> timedelta:
    """`30d`, `12h`, `90m`, `45s` or `2w` as a timedelta; ValueError with the accepted forms otherwise."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"{text!r} is not a duration like 30d, 12h, 90m, 45s or 2w")
    return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


async def count_older_than(store: DebugLogStore, cutoff: datetime) -> int:
    stmt = select(func.count()).select_from(debug_logs).where(debug_logs.c.time_created < cutoff, _KEPT)
    async with store.engine.connect() as conn:
        return int((await conn.execute(stmt)).scalar_one())


async def delete_older_than(store: DebugLogStore, cutoff: datetime, batch_size: int = 1000) -> int:
    """Delete every record created before `cutoff`, `batch_size` rows per transaction; returns the count."""
    total = 0
    while True:
        oldest = (
            select(debug_logs.c.id)
            .where(debug_logs.c.time_created < cutoff, _KEPT)
            .order_by(debug_logs.c.id)
            .limit(batch_size)
        )
        async with store.engine.begin() as conn:
            ids = list((await conn.execute(oldest)).scalars())
            # A summary's index row goes with it (call_index rows share their summary's id).
            await conn.execute(delete(call_index).where(call_index.c.id.in_(ids)))
            deleted = (await conn.execute(delete(debug_logs).where(debug_logs.c.id.in_(ids)))).rowcount
        total += deleted
        if deleted < batch_size:
            return total
        await asyncio.sleep(0)  # let queued writes in between batches


class RetentionTask:
    """Deletes records older than `days` once at start and then every `interval` seconds."""

    def __init__(self, store: DebugLogStore, days: float, interval: float = 3600.0) -> None:
        self.store = store
        self.keep = timedelta(days=days)
        self.interval = interval
        self.deleted = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="luthien-retention")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                deleted = await delete_older_than(self.store, datetime.now(UTC) - self.keep)
                self.deleted += deleted
                if deleted:
                    logger.info("retention: deleted %d debug records older than %s", deleted, self.keep)
            except Exception as exc:  # the next round retries; retention must never stop the service
                logger.warning("retention round failed: %s", exc)
            await asyncio.sleep(self.interval)
