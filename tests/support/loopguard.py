"""Notice every asyncio callback that holds the event loop longer than `THRESHOLD_S`.

Latency is the product, so blocking calls in async code are bugs. asyncio's debug mode reports
slow callbacks too, but turns on per-task bookkeeping the suite does not need; timing
`Handle._run` (what every loop iteration calls for each callback and task step) costs two clock
reads per callback and sees every asyncio loop in the process, test loops and in-process servers
alike. A callback during which modules were first
imported is let through (a first import blocks once, wherever it lands). uvloop loops are not
covered (tests use asyncio's loop; the control plane's uvloop runs in child processes only).
"""

from __future__ import annotations

import asyncio.events
import os
import sys
import time
from typing import Any

# The longest real callback measured in the suite was 0.58 s, on 2 cores busy with another job
# (0.1 s or less unloaded); a time.sleep(1), a sync HTTP call or a slow sync query goes past it.
# 5 s by default: under CI's full load (Chromium, LiteLLM and Postgres on 2 cores) a real callback
# took 0.83 s once; a blocking call of seconds is what this is for.
THRESHOLD_S = float(os.environ.get("LUTHIEN_TEST_LOOP_BLOCK_S", "5"))

violations: list[str] = []
_installed = False


def _describe(callback: Any) -> str:
    task = getattr(callback, "__self__", None)
    if isinstance(task, asyncio.Task):
        coro: Any = task.get_coro()
        return f"task {task.get_name()} running {getattr(coro, '__qualname__', coro)!r}"
    return repr(callback)


def install() -> None:
    """Wrap `asyncio.Handle._run` once for the whole test process."""
    global _installed
    if _installed:
        return
    _installed = True
    real_run = asyncio.events.Handle._run

    def timed_run(self: asyncio.Handle) -> None:
        callback = self._callback  # read first: running may cancel the handle, which drops it
        loaded = len(sys.modules)
        start = time.perf_counter()
        real_run(self)
        took = time.perf_counter() - start
        # A first import (the openai SDK's resources, a database dialect...) blocks once per
        # process, wherever it happens to run first: not what this guard is for.
        if took > THRESHOLD_S and len(sys.modules) == loaded:
            violations.append(
                f"the event loop was blocked for {took:.2f}s (limit {THRESHOLD_S}s) by {_describe(callback)}"
            )

    asyncio.events.Handle._run = timed_run  # type: ignore[method-assign]


def take_violations() -> list[str]:
    """Return and clear what was reported since the last call."""
    taken = violations[:]
    violations.clear()
    return taken
