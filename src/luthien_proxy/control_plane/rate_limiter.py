"""An in-process token bucket per key, guarding the SSE endpoints from over-subscription.

As in the seed, the limiter lives in each control-plane instance's memory (the one piece of state
deliberately not shared when scaling out).
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
    """`capacity` requests at once per key, refilled at `refill_per_second`."""

    def __init__(self, capacity: int, refill_per_second: float) -> None:
        self.capacity = capacity
        self.refill_per_second = refill_per_second
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def acquire(self, key: str) -> float:
        """Take a token; returns 0 on success, else the seconds until one is available."""
        now = time.monotonic()
        bucket = self._buckets.pop(key, None) or _Bucket(float(self.capacity), now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.refill_per_second)
        bucket.updated = now
        self._buckets[key] = bucket
        if len(self._buckets) > _MAX_KEYS:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.refill_per_second
