"""What the read side's routes get from their host (`app.state.read_sources`): the store, the bus
and the SSE settings — nothing else of the control plane."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from luthien_proxy.backends.events import EventBus
from luthien_proxy.backends.store import DebugLogStore


@dataclass(frozen=True)
class ReadSources:
    store: DebugLogStore
    bus: EventBus
    sse_heartbeat_seconds: float
    sse_queue_size: int


def read_sources(request: Request) -> ReadSources:
    return request.app.state.read_sources
