"""In-process stream context, for the embedded default: same keys, same TTL semantics as Redis."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from luthien_proxy.backends.stream_context.context_store import index_key, text_key


@dataclass
class _Entry:
    parts: list[str] = field(default_factory=list)
    index: int = 0
    expires_at: float = 0.0


class InProcessStreamContext:
    """A dict of calls; entries expire `ttl_seconds` after their last append, checked on access."""

    backend = "memory"

    def __init__(self, ttl_seconds: int = 3600) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: dict[str, _Entry] = {}
        self._next_sweep = 0.0

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._entries.clear()

    def append(self, call_id: str, text: str) -> None:
        now = time.monotonic()
        entry = self._live(call_id, now) or self._entries.setdefault(call_id, _Entry())
        entry.parts.append(text)
        entry.index += 1
        entry.expires_at = now + self.ttl_seconds
        if now >= self._next_sweep:
            self._sweep(now)

    async def get_text(self, call_id: str) -> str:
        entry = self._live(call_id, time.monotonic())
        return "".join(entry.parts) if entry else ""

    async def get_index(self, call_id: str) -> int:
        entry = self._live(call_id, time.monotonic())
        return entry.index if entry else 0

    async def exists(self, call_id: str) -> bool:
        return self._live(call_id, time.monotonic()) is not None

    async def clear(self, call_id: str) -> None:
        self._entries.pop(call_id, None)

    @property
    def active_calls(self) -> int:
        """Calls whose keys are still live (the Redis store has no cheap equivalent)."""
        now = time.monotonic()
        return sum(1 for call_id in list(self._entries) if self._live(call_id, now))

    def keys(self) -> list[str]:
        """The live keys, named as Redis would name them (for inspection and tests)."""
        now = time.monotonic()
        live = [call_id for call_id in list(self._entries) if self._live(call_id, now)]
        return [key for call_id in live for key in (text_key(call_id), index_key(call_id))]

    def _live(self, call_id: str, now: float) -> _Entry | None:
        entry = self._entries.get(call_id)
        if entry is not None and entry.expires_at <= now:
            del self._entries[call_id]
            return None
        return entry

    def _sweep(self, now: float) -> None:
        # Entries that are never read again would otherwise stay forever; sweep at most once a second.
        self._next_sweep = now + 1.0
        for call_id in [c for c, e in self._entries.items() if e.expires_at <= now]:
            del self._entries[call_id]
