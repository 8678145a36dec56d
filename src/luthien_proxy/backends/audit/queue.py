"""`AuditQueue`: held tool calls and their decisions, shared by every control-plane instance.

One code path (`AuditQueue`) over two storages (`InProcessAuditStorage`, `RedisAuditStorage`).
A decision is a claim (only the first wins: a second is `AlreadyDecided`) followed by the decided
item being saved and announced on the bus (`item_channel`, `AUDITS_CHANNEL`), so a person deciding
on one instance releases a call waiting on another. A waiting call re-reads the item after it
subscribes and every few seconds, so a decision announced before it listened (or lost by the bus)
is still seen.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Final, Protocol

import orjson

from luthien_proxy.backends.audit.item import AUDITS_CHANNEL, AuditItem, Status, item_channel
from luthien_proxy.backends.events import EventBus

logger = logging.getLogger(__name__)

#: How often a waiting call re-reads its item even without news (a lost bus message costs this).
REREAD_SECONDS: Final = 2.0
#: A pending item this long past its deadline has no call waiting (its instance stopped): failed.
ORPHAN_GRACE_SECONDS: Final = 10.0
#: How long an item is kept after its deadline, for the queue's history.
DEFAULT_RETENTION_SECONDS: Final = 24 * 3600
#: How long `close` waits for the failed calls to mark their items and end.
CLOSE_SECONDS: Final = 3.0
STOPPED: Final = "the instance holding the call stopped before a decision; the call failed closed"
ORPHANED: Final = "no call was waiting when the deadline passed (its instance stopped); it failed closed"


class UnknownItem(LookupError):
    """No audit item has this id (never created, or expired)."""


class AlreadyDecided(RuntimeError):
    """The item was decided before; `item` is it, with that decision."""

    def __init__(self, item: AuditItem) -> None:
        super().__init__(f"audit item {item.id} is already {item.status}")
        self.item = item


class AuditStorage(Protocol):
    """Where items live: in process or in Redis. `claim` is the one atomic step."""

    backend: str

    async def load(self, item_id: str) -> AuditItem | None: ...

    async def load_many(self, item_ids: list[str]) -> list[AuditItem]: ...

    async def save(self, item: AuditItem, ttl_seconds: int) -> None:
        """Store `item`; a pending one joins the pending index, a decided one leaves it."""
        ...

    async def claim(self, item_id: str, ttl_seconds: int) -> bool:
        """True for the first caller only: it may decide the item."""
        ...

    async def pending_ids(self, limit: int) -> list[str]:
        """Pending items' ids, oldest first."""
        ...

    async def recent_ids(self, limit: int) -> list[str]:
        """Every recent item's id, newest first."""
        ...


class AuditQueue:
    """Creates, lists, decides and waits on audit items over one storage and the event bus."""

    def __init__(
        self,
        storage: AuditStorage,
        bus: EventBus,
        *,
        clock: Callable[[], float] = time.time,
        retention_seconds: int = DEFAULT_RETENTION_SECONDS,
    ) -> None:
        self.storage = storage
        self.bus = bus
        self.clock = clock
        self.retention_seconds = retention_seconds
        #: The calls waiting in `await_decision` now: `close` fails them before the backends go.
        self._waiting: set[asyncio.Task[Any]] = set()

    @property
    def backend(self) -> str:
        return self.storage.backend

    def _ttl(self, item: AuditItem) -> int:
        return max(int(item.deadline - self.clock()) + self.retention_seconds, 1)

    def _announce(self, kind: str, item: AuditItem) -> None:
        message = orjson.dumps({"type": kind, "item": item.public(self.clock())})
        channels = (AUDITS_CHANNEL, item_channel(item.id))
        self.bus.publish(channels, message)

    async def create(self, item: AuditItem) -> AuditItem:
        """Store a new pending item and announce it (`audit_created`)."""
        await self.storage.save(item, self._ttl(item))
        self._announce("audit_created", item)
        return item

    async def get(self, item_id: str) -> AuditItem | None:
        """The item, or None; a pending item long past its deadline is marked failed first."""
        item = await self.storage.load(item_id)
        return await self._settle_orphan(item) if item is not None else None

    async def list(self, status: Status | None = None, limit: int = 100) -> list[AuditItem]:
        """Pending items oldest first (`status="pending"`), otherwise recent items newest first."""
        if status == "pending":
            items = await self.storage.load_many(await self.storage.pending_ids(limit))
        else:
            items = await self.storage.load_many(await self.storage.recent_ids(limit))
        settled = [await self._settle_orphan(item) for item in items]
        return [item for item in settled if status is None or item.status == status]

    async def decide(
        self,
        item_id: str,
        status: Status,
        *,
        by: str,
        comment: str | None = None,
        arguments: dict[str, Any] | None = None,
        failure: str | None = None,
    ) -> AuditItem:
        """Decide a pending item (first decision wins) and announce it (`audit_decided`).

        Raises `UnknownItem`, or `AlreadyDecided` with the earlier decision."""
        item = await self.storage.load(item_id)
        if item is None:
            raise UnknownItem(item_id)
        if not item.pending or not await self.storage.claim(item_id, self._ttl(item)):
            raise AlreadyDecided(await self._decided(item_id))
        decided = item.decided(status, self.clock(), by, comment, arguments, failure)
        await self.storage.save(decided, self._ttl(decided))
        self._announce("audit_decided", decided)
        return decided

    async def await_decision(self, item_id: str) -> AuditItem:
        """Wait until the item is decided; at its deadline it is decided `timed_out` (unless a person
        got there first). Cancelled (the instance stopping), the item is marked failed."""
        waiting = asyncio.current_task()
        if waiting is not None:
            self._waiting.add(waiting)
        try:
            async with self.bus.subscribe((item_channel(item_id),), maxsize=8) as news:
                while True:
                    item = await self.storage.load(item_id)
                    if item is None:
                        raise UnknownItem(item_id)
                    if not item.pending:
                        return item
                    remaining = item.deadline - self.clock()
                    if remaining <= 0:
                        return await self._decide_or_read(item_id, "timed_out", by="timeout")
                    await news.next_item(timeout=min(remaining, REREAD_SECONDS))
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    self._decide_or_read(item_id, "failed", by="luthien", failure=STOPPED), 2
                )
            raise
        finally:
            if waiting is not None:
                self._waiting.discard(waiting)

    async def close(self) -> None:
        """The instance is stopping: fail the calls still waiting and let them say so on their items
        (and finish) while the store and bus are still there; bounded, so a stop never hangs."""
        waiting = [task for task in self._waiting if not task.done()]
        for task in waiting:
            task.cancel()
        if waiting:
            await asyncio.wait(waiting, timeout=CLOSE_SECONDS)

    async def _decide_or_read(
        self, item_id: str, status: Status, *, by: str, failure: str | None = None
    ) -> AuditItem:
        try:
            return await self.decide(item_id, status, by=by, failure=failure)
        except AlreadyDecided as exc:
            return exc.item

    async def _decided(self, item_id: str) -> AuditItem:
        """The item once the claim's winner has saved its decision (a moment after its claim)."""
        give_up = time.monotonic() + 5.0  # the winner saves next, unless it died between the two
        while True:
            item = await self.storage.load(item_id)
            if item is None:
                raise UnknownItem(item_id)
            if not item.pending or time.monotonic() > give_up:
                return item
            await asyncio.sleep(0.02)

    async def _settle_orphan(self, item: AuditItem) -> AuditItem:
        if not item.pending or self.clock() < item.deadline + ORPHAN_GRACE_SECONDS:
            return item
        logger.warning("audit item %s had no waiting call past its deadline: failed", item.id)
        return await self._decide_or_read(item.id, "failed", by="luthien", failure=ORPHANED)
