"""The benchmark's workloads: what each request asks for and what a correct answer must contain."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STREAM_CHUNKS = 20


@dataclass(frozen=True)
class Workload:
    """One request shape at one concurrency, with request counts per round (full and --quick)."""

    key: str
    title: str
    stream: bool
    concurrency: int
    requests: int
    quick_requests: int

    def request_count(self, quick: bool, override: int | None) -> int:
        """Requests per target per round; never fewer than the concurrency, so every worker runs."""
        count = override if override is not None else (self.quick_requests if quick else self.requests)
        return max(count, self.concurrency)


WORKLOADS: tuple[Workload, ...] = (
    Workload("ns-c1", "non-stream c=1", stream=False, concurrency=1, requests=100, quick_requests=5),
    Workload("ns-c32", "non-stream c=32", stream=False, concurrency=32, requests=256, quick_requests=32),
    Workload("st-c1", "stream 20 chunks c=1", stream=True, concurrency=1, requests=50, quick_requests=5),
    Workload("st-c16", "stream 20 chunks c=16", stream=True, concurrency=16, requests=128, quick_requests=16),
)


def request_payload(workload: Workload, index: int) -> dict[str, Any]:
    """The fields of request `index` every API shares: an echo of a unique prompt, or a 20-chunk
    demo-long stream (each API shapes them its way, `apis.Api.body`)."""
    if workload.stream:
        return {
            "model": "demo-long",
            "messages": [{"role": "user", "content": f"bench stream {index}"}],
            "stream": True,
            "demo_chunks": STREAM_CHUNKS,
            "demo_delay_ms": 0,
        }
    return {"model": "demo-echo", "messages": [{"role": "user", "content": prompt(index)}]}


def prompt(index: int) -> str:
    """The user text of non-stream request `index` (unique, so a mixed-up answer is caught)."""
    return f"bench request {index}"


def expected_text(workload: Workload, index: int, upper: bool) -> str:
    """The full answer text a correct target returns for request `index`."""
    if workload.stream:
        text = "".join(f"chunk {i} " for i in range(STREAM_CHUNKS))
    else:
        text = f"You said: {prompt(index)}"
    return text.upper() if upper else text
