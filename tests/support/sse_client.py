"""Reads a Server-Sent Events response: events as parsed JSON, comments as text."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson


async def sse_items(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """Yields ("data", event dict) for each event and ("comment", text) for each comment line."""
    data_lines: list[str] = []
    async for line in response.aiter_lines():
        if line.startswith(":"):
            yield "comment", line[1:].strip()
        elif line.startswith("data:"):
            data_lines.append(line[5:].strip())
        elif line == "" and data_lines:
            yield "data", orjson.loads("\n".join(data_lines))
            data_lines = []


async def next_events_until_completed(items: AsyncIterator[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Collect data events up to and including the first `request_completed`."""
    events: list[dict[str, Any]] = []
    async for kind, value in items:
        if kind == "data":
            events.append(value)
            if value["type"] == "request_completed":
                return events
    raise AssertionError(f"stream ended after {[e['type'] for e in events]}")
