"""The policy-state interface: small JSON values and counters shared across requests and instances.

What control protocols keep between calls — per-trace suspicion history, audit budgets — lives
here: in process by default, in Redis (`luthien:policy:{key}`) when `REDIS_URL` is set, so every
control-plane instance sees the same state.
"""

from __future__ import annotations

from typing import Any, Protocol

KEY_PREFIX = "luthien:policy:"


class PolicyState(Protocol):
    """Shared state for policies; values are JSON-serialisable."""

    backend: str

    async def get(self, key: str) -> Any | None: ...

    async def set(self, key: str, value: Any, ttl_seconds: int | None = None) -> None: ...

    async def increment(self, key: str, amount: float = 1.0, ttl_seconds: int | None = None) -> float:
        """Add `amount` to a counter (0 when absent) and return the new value."""
        ...

    async def push(self, key: str, value: Any, max_items: int = 100, ttl_seconds: int | None = None) -> None:
        """Append to a list, keeping only the newest `max_items`."""
        ...

    async def items(self, key: str) -> list[Any]:
        """A list's values, oldest first (empty when absent)."""
        ...

    async def delete(self, key: str) -> None: ...
