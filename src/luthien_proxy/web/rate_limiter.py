"""In-process limits per client: a token bucket (login failures) and a count of open connections
(SSE live streams).

Both live in each control-plane instance's memory (the one piece of state deliberately not shared
when scaling out): an instance bounds what it holds itself.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

_MAX_KEYS = 10_000


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBucketLimiter:
    """`capacity` events at once per key, refilled at `refill_per_second`."""

    def __init__(self, capacity: int, refill_per_second: float) -> None:
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def _bucket(self, key: str) -> _Bucket:
        now = time.monotonic()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.capacity), now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second)
        bucket.updated = now
        self._buckets[key] = bucket
        if len(self._buckets) > _MAX_KEYS:
            self._buckets.popitem(last=False)
        return bucket

    def wait(self, key: str) -> float:
        """Seconds until `key` has a token (0 when it has one now), without taking it."""
        bucket = self._bucket(key)
        return 0.0 if bucket.tokens >= 1 else (1 - bucket.tokens) / self.refill_per_second

    def acquire(self, key: str) -> float:
        """Take a token; returns 0 on success, else the seconds until one is available."""
        wait = self.wait(key)
        if not wait:
            self._buckets[key].tokens -= 1
        return wait


class LimitReached(Exception):
    """No connection slot is free; the message says which limit was hit."""


class ConnectionSlots:
    """At most `per_key` connections open at once per key, and `total` over all keys."""

    def __init__(self, per_key: int, total: int) -> None:
        self.per_key = per_key
        self.total = total
        self._open: dict[str, int] = {}
        self._count = 0

    def acquire(self, key: str) -> Slot:
        """A slot for one connection of `key`, held until `Slot.release`; raises `LimitReached`."""
        held = self._open.get(key, 0)
        if held >= self.per_key:
            raise LimitReached(
                f"{held} connections already open from this client; the limit is {self.per_key}"
            )
        if self._count >= self.total:
            raise LimitReached(
                f"{self._count} connections already open; this instance's limit is {self.total}"
            )
        self._open[key] = held + 1
        self._count += 1
        return Slot(self, key)

    def _release(self, key: str) -> None:
        held = self._open[key] - 1
        if held:
            self._open[key] = held
        else:
            del self._open[key]  # an idle client costs nothing
        self._count -= 1


class Slot:
    """One held connection slot; `release` is idempotent, so every exit path may call it."""

    def __init__(self, slots: ConnectionSlots, key: str) -> None:
        self._slots: ConnectionSlots | None = slots
        self.key = key

    def release(self) -> None:
        if self._slots is not None:
            self._slots._release(self.key)
            self._slots = None
