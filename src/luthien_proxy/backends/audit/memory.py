"""In-process audit storage: the embedded default when no `REDIS_URL` is set."""

from __future__ import annotations

import time

from luthien_proxy.backends.audit.item import AuditItem

#: Items remembered for the history (the oldest forgotten first).
MAX_ITEMS = 1000


class InProcessAuditStorage:
    """A dict of items with expiry, checked on access; claims are a set (one event loop: atomic)."""

    backend = "memory"

    def __init__(self) -> None:
        self._items: dict[str, tuple[AuditItem, float]] = {}
        self._claims: set[str] = set()

    async def load(self, item_id: str) -> AuditItem | None:
        entry = self._items.get(item_id)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            del self._items[item_id]
            self._claims.discard(item_id)
            return None
        return entry[0]

    async def load_many(self, item_ids: list[str]) -> list[AuditItem]:
        return [item for item_id in item_ids if (item := await self.load(item_id)) is not None]

    async def save(self, item: AuditItem, ttl_seconds: int) -> None:
        self._items.pop(item.id, None)  # re-inserted last: the dict's order is creation order
        self._items[item.id] = (item, time.monotonic() + ttl_seconds)
        while len(self._items) > MAX_ITEMS:
            oldest = next(iter(self._items))
            del self._items[oldest]
            self._claims.discard(oldest)

    async def claim(self, item_id: str, ttl_seconds: int) -> bool:
        if item_id in self._claims:
            return False
        self._claims.add(item_id)
        return True

    async def pending_ids(self, limit: int) -> list[str]:
        live = [i for i, (item, _) in self._items.items() if item.pending]
        return sorted(live, key=lambda i: self._items[i][0].created_at)[:limit]

    async def recent_ids(self, limit: int) -> list[str]:
        return sorted(self._items, key=lambda i: self._items[i][0].created_at, reverse=True)[:limit]
