"""`CallTiming`: where a call's time went, folded from its conversation events with its tally.

What Luthien added (the policy's hooks, and for a stream how long the policy held the first chunk)
is kept apart from the upstream's time, so a dashboard can show the proxy's cost on its own. Every
number comes from what the pipeline records anyway (`policy_ms` on the hook events, the stream
summary's chunk times): measuring it costs the request path nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _ms(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass
class CallTiming:
    """In ms: the policy's hooks (summed), the upstream (the policed request to its answer, or to a
    stream's last chunk), and for a stream its first chunk to the client and the upstream's first
    chunk, both from the stream's start."""

    policy_ms: float | None = None
    upstream_ms: float | None = None
    first_chunk_ms: float | None = None
    upstream_first_chunk_ms: float | None = None

    def hook_time(self, payload: dict[str, Any]) -> None:
        """Add the policy time an event carries (`request_started`, `request_completed`)."""
        hook_ms = _ms(payload.get("policy_ms"))
        if hook_ms is not None:
            self.policy_ms = (self.policy_ms or 0.0) + hook_ms

    def completed(
        self, payload: dict[str, Any], success: bool, started_at: float | None, ended_at: float | None
    ) -> None:
        """The call's end: a stream's summary has its chunk times; an answered call's upstream time
        is from the policed request's record to the answer's, less the policy's time on the answer."""
        if payload.get("streamed"):
            self.upstream_ms = _ms(payload.get("upstream_ms"))
            self.first_chunk_ms = _ms(payload.get("first_chunk_ms"))
            self.upstream_first_chunk_ms = _ms(payload.get("upstream_first_chunk_ms"))
        elif success and started_at is not None and ended_at is not None:
            waited = (ended_at - started_at) * 1000 - (_ms(payload.get("policy_ms")) or 0.0)
            self.upstream_ms = max(waited, 0.0)

    def added_ms(self) -> float | None:
        """What Luthien added to the call: its policy's hooks, and for a stream how much later the
        client got its first chunk than the upstream sent its first; None when nothing was measured."""
        if self.policy_ms is None and self.first_chunk_ms is None:
            return None
        held = 0.0
        if self.first_chunk_ms is not None and self.upstream_first_chunk_ms is not None:
            held = max(self.first_chunk_ms - self.upstream_first_chunk_ms, 0.0)
        return (self.policy_ms or 0.0) + held
