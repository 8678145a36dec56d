"""The stream-context interface: per-call accumulated final text and chunk index, with a TTL.

Keys are `stream:{call_id}:text` and `stream:{call_id}:index`. `append` never awaits (the stream
must not wait on Redis); reads flush pending appends first, so they see everything appended.
"""

from __future__ import annotations

from typing import Protocol


def text_key(call_id: str) -> str:
    return f"stream:{call_id}:text"


def index_key(call_id: str) -> str:
    return f"stream:{call_id}:index"


class StreamContextStore(Protocol):
    """Per-call streaming state: in-process or Redis keys with the same TTL semantics."""

    backend: str
    ttl_seconds: int

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def append(self, call_id: str, text: str) -> None:
        """Add one output chunk's text and advance the index; refreshes the TTL."""
        ...

    async def get_text(self, call_id: str) -> str: ...

    async def get_index(self, call_id: str) -> int:
        """How many chunks have been appended (0 when the keys are gone)."""
        ...

    async def exists(self, call_id: str) -> bool: ...

    async def clear(self, call_id: str) -> None: ...
