"""`ControlPlaneMetrics`: what `/metrics` tells Prometheus about one control plane.

Call metrics (calls, latencies, decisions, judge calls) are counted from each call's tally when the
recorder has summarized it, after the door answered: nothing is added to the request path, nor per
chunk. The backends' state (write queue, store, bus, audit queue) is read when scraped, never
updated as it changes. Each control plane has its own registry, not the process-wide default, so
several in one process (tests) never mix their counts.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from luthien_proxy.backends.audit import AuditQueue
from luthien_proxy.backends.events import EventBus
from luthien_proxy.backends.store import DebugLogStore, DebugLogWriter
from luthien_proxy.pipeline import CallRecorder
from luthien_proxy.pipeline.call_summary import CallTally

#: Distinct values a label keeps; later ones are counted as `other` (a client names its model, and
#: a typo a request must not grow a series). Values are clipped to `LABEL_CHARS`.
LABEL_VALUES: Final = 100
LABEL_CHARS: Final = 80
OTHER: Final = "other"
#: How long a scrape waits for the store or the bus to answer before reporting it down.
PING_TIMEOUT_S: Final = 2.0
#: Pending audit items counted at most (the gauge saturates there).
AUDITS_COUNTED: Final = 10_000

ADDED_BUCKETS: Final = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
UPSTREAM_BUCKETS: Final = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600)
JUDGE_BUCKETS: Final = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
CALL_LABELS: Final = ("door", "dialect", "model")
JUDGE_LABELS: Final = ("protocol", "judge_model")


class BoundedLabels:
    """Label values as given until a label has `limit` of them; any new one after is `other`."""

    def __init__(self, limit: int = LABEL_VALUES) -> None:
        self.limit = limit
        self._seen: dict[str, set[str]] = {}

    def __call__(self, label: str, value: Any, missing: str = "unknown") -> str:
        text = str(value)[:LABEL_CHARS] if value not in (None, "") else missing
        seen = self._seen.setdefault(label, set())
        if text in seen:
            return text
        if len(seen) >= self.limit:
            return OTHER
        seen.add(text)
        return text


@dataclass(frozen=True)
class BackendSources:
    """The backends whose state a scrape reads."""

    writer: DebugLogWriter
    store: DebugLogStore
    bus: EventBus
    audits: AuditQueue


class ControlPlaneMetrics:
    """The registry, the call metrics the recorder feeds, and the backends read on scrape."""

    def __init__(self, sources: BackendSources) -> None:
        self.sources = sources
        self.registry = CollectorRegistry()
        self.labels = BoundedLabels()
        r = self.registry
        self.calls = Counter(
            "luthien_calls", "Calls that ended, by outcome", [*CALL_LABELS, "outcome"], registry=r
        )
        self.added = Histogram(
            "luthien_added_latency_seconds",
            "What Luthien added to a call: its policy's hooks, and how long a stream's first chunk was held",
            CALL_LABELS,
            buckets=ADDED_BUCKETS,
            registry=r,
        )
        self.upstream = Histogram(
            "luthien_upstream_latency_seconds",
            "The upstream's time: the policed request to its answer, or to a stream's last chunk",
            CALL_LABELS,
            buckets=UPSTREAM_BUCKETS,
            registry=r,
        )
        self.first_chunk = Histogram(
            "luthien_time_to_first_chunk_seconds",
            "A stream's start to the first chunk sent to the client",
            CALL_LABELS,
            buckets=UPSTREAM_BUCKETS,
            registry=r,
        )
        self.decisions = Counter(
            "luthien_decisions", "Decisions policies recorded", ["protocol", "action"], registry=r
        )
        self.judge_latency = Histogram(
            "luthien_judge_latency_seconds",
            "Judge calls' time",
            JUDGE_LABELS,
            buckets=JUDGE_BUCKETS,
            registry=r,
        )
        self.judge_failures = Counter(
            "luthien_judge_failures",
            "Judge calls that failed (scored as on_judge_error says)",
            JUDGE_LABELS,
            registry=r,
        )
        self.state = BackendState(sources)
        r.register(self.state)

    @classmethod
    def for_recorder(cls, recorder: CallRecorder, sources: BackendSources) -> ControlPlaneMetrics:
        """The metrics of `recorder`'s calls, made and subscribed once however many apps serve it."""
        found = _BY_RECORDER.get(recorder)
        if found is None:
            found = _BY_RECORDER[recorder] = cls(sources)
            recorder.observers.append(found.observe_call)
        return found

    def observe_call(self, tally: CallTally) -> None:
        """Count one call that ended, from its tally (the recorder calls it, off the request path)."""
        label = self.labels
        call = (label("door", tally.door), label("dialect", tally.dialect), label("model", tally.model))
        self.calls.labels(*call, tally.outcome).inc()
        timing = tally.timing
        for histogram, ms in (
            (self.added, timing.added_ms()),
            (self.upstream, timing.upstream_ms),
            (self.first_chunk, timing.first_chunk_ms),
        ):
            if ms is not None:
                histogram.labels(*call).observe(ms / 1000)
        for decision in tally.decisions:
            protocol = label("protocol", decision.get("protocol"), missing="policy")
            action = label("action", decision.get("action"))
            self.decisions.labels(protocol, action).inc()
            if action == "judge":
                judge = (protocol, label("judge_model", decision.get("judge_model")))
                latency = decision.get("latency_ms")
                if isinstance(latency, int | float) and not isinstance(latency, bool):
                    self.judge_latency.labels(*judge).observe(latency / 1000)
                if decision.get("error"):
                    self.judge_failures.labels(*judge).inc()

    async def render(self) -> bytes:
        """The Prometheus text exposition, with the backends' state read now."""
        await self.state.refresh()
        return generate_latest(self.registry)


_BY_RECORDER: weakref.WeakKeyDictionary[CallRecorder, ControlPlaneMetrics] = weakref.WeakKeyDictionary()


async def _answers(ping: Callable[[], Awaitable[None]]) -> bool:
    try:
        await asyncio.wait_for(ping(), PING_TIMEOUT_S)
    except asyncio.CancelledError:
        raise
    except Exception:  # down, refusing or too slow: all the same to a dashboard
        return False
    return True


class BackendState:
    """A collector of the write queue, the store's and the bus's health and the audit queue.

    The pings are awaited in `refresh` (a collector cannot await); `collect` reports what the last
    refresh found, and the write queue as it is now."""

    def __init__(self, sources: BackendSources) -> None:
        self.sources = sources
        self.store_up: bool | None = None
        self.bus_up: bool | None = None
        self.audits_pending: int | None = None

    async def refresh(self) -> None:
        sources = self.sources
        self.store_up, self.bus_up, self.audits_pending = await asyncio.gather(
            _answers(sources.store.ping), _answers(sources.bus.ping), self._pending_audits()
        )

    async def _pending_audits(self) -> int | None:
        try:
            ids = await asyncio.wait_for(
                self.sources.audits.storage.pending_ids(AUDITS_COUNTED), PING_TIMEOUT_S
            )
        except asyncio.CancelledError:
            raise
        except Exception:  # unknown: the sample is left out rather than reported as 0
            return None
        return len(ids)

    def collect(self) -> Iterable[Metric]:
        writer, sources = self.sources.writer, self.sources
        yield GaugeMetricFamily(
            "luthien_write_queue_depth", "Records queued for the store", value=writer.pending
        )
        yield GaugeMetricFamily(
            "luthien_write_queue_capacity",
            "Records the write queue holds before it drops",
            value=writer.status()["capacity"],
        )
        yield GaugeMetricFamily(
            "luthien_write_queue_lag_seconds",
            "Age of the oldest record not yet written (0 when the writer is idle)",
            value=writer.lag_seconds,
        )
        yield GaugeMetricFamily(
            "luthien_write_queue_failing", "1 while records fail to be written", value=float(writer.failing)
        )
        for name, value, text in (
            ("luthien_records_written", writer.written, "Records written to the store"),
            ("luthien_records_dropped", writer.dropped, "Records dropped because the write queue was full"),
            (
                "luthien_records_set_aside",
                writer.set_aside,
                "Records the database refused (a placeholder kept)",
            ),
        ):
            yield CounterMetricFamily(name, text, value=value)
        for name, up, backend, text in (
            (
                "luthien_store_up",
                self.store_up,
                sources.store.backend,
                "1 when the store answered the scrape's ping",
            ),
            (
                "luthien_bus_up",
                self.bus_up,
                sources.bus.backend,
                "1 when the event bus answered the scrape's ping",
            ),
        ):
            if up is not None:
                gauge = GaugeMetricFamily(name, text, labels=["backend"])
                gauge.add_metric([backend], float(up))
                yield gauge
        if self.audits_pending is not None:
            yield GaugeMetricFamily(
                "luthien_audit_items_pending",
                f"Audit items waiting for a person (shared by every instance; at most {AUDITS_COUNTED})",
                value=self.audits_pending,
            )
