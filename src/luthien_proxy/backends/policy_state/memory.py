"""In-process policy state for the embedded default, with the same TTL semantics as Redis."""

from __future__ import annotations

import time
from typing import Any


class InProcessPolicyState:
    """A dict with per-key expiry, checked on access."""

    backend = "memory"

    def __init__(self) -> None:
        self._values: dict[str, tuple[Any, float | None]] = {}

    def _live(self, key: str) -> Any | None:
        entry = self._values.get(key)
        if entry is None:
            return None
        value, expires = entry
        if expires is not None and expires <= time.monotonic():
            del self._values[key]
            return None
        return value

    def _store(self, key: str, value: Any, ttl_seconds: int | None) -> None:
        previous = self._values.get(key)
        expires = time.monotonic() + ttl_seconds if ttl_seconds else (previous[1] if previous else None)
        self._values[key] = (value, expires)

    async def get(self, key: str) -> Any | None:
        return self._live(key)

    async def set(self, key: str, value: Any, ttl_seconds: int | None = None) -> None:
        self._values.pop(key, None)
        self._store(key, value, ttl_seconds)

    async def increment(self, key: str, amount: float = 1.0, ttl_seconds: int | None = None) -> float:
        value = float(self._live(key) or 0.0) + amount
        self._store(key, value, ttl_seconds)
        return value

    async def push(self, key: str, value: Any, max_items: int = 100, ttl_seconds: int | None = None) -> None:
        items = [*(self._live(key) or []), value][-max_items:]
        self._store(key, items, ttl_seconds)

    async def items(self, key: str) -> list[Any]:
        return list(self._live(key) or [])

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)
