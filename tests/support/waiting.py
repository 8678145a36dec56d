"""Waiting on a condition (never a bare sleep) in async tests."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    check: Callable[[], Awaitable[T | None]], timeout: float = 10.0, interval: float = 0.02
) -> T:
    """The first truthy result of `check`, polled every `interval`; fails after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not (result := await check()):
        assert time.monotonic() < deadline, f"condition not met within {timeout:g}s"
        await asyncio.sleep(interval)
    return result
