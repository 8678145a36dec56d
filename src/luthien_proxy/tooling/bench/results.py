"""Benchmark figures: per-round measurements, medians over rounds, ratios and door-minus-upstream
differences (the team's goals are in `goals`)."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from luthien_proxy.tooling.bench.workloads import WORKLOAD_BY_KEY, WORKLOADS, Workload


@dataclass
class RoundRun:
    """One target running one workload in one round."""

    target: str
    workload: Workload
    round: int
    latencies_s: list[float]
    first_chunk_s: list[float]
    chunks: int  # stream events that carried content or tool-call fragments, over all requests
    elapsed_s: float
    server_cpu_s: float
    upstream_cpu_s: float
    client_cpu_s: float
    process_cpu_s: dict[str, float] = field(default_factory=dict)  # server name -> CPU s in this run
    errors: Counter[str] = field(default_factory=Counter)

    @property
    def requests(self) -> int:
        return len(self.latencies_s)


@dataclass
class Cell:
    """One target × workload: medians over rounds of each round's figure."""

    target: str
    workload: str
    rounds: int
    requests: int
    p50_ms: float
    p99_ms: float
    ttfc_p50_ms: float | None
    ttfc_p99_ms: float | None
    rps: float
    server_cpu_us_per_req: float
    server_cpu_us_per_chunk: float | None
    upstream_cpu_us_per_req: float
    client_cpu_us_per_req: float
    process_cpu_us_per_req: dict[str, float]
    errors: int
    error_messages: dict[str, int]


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def _median_of(runs: Sequence[RoundRun], figure: Callable[[RoundRun], float]) -> float:
    return statistics.median(figure(run) for run in runs) if runs else math.nan


def _server_us(run: RoundRun) -> float:
    return run.server_cpu_s / run.requests * 1e6


def _upstream_us(run: RoundRun) -> float:
    return run.upstream_cpu_s / run.requests * 1e6


def _client_us(run: RoundRun) -> float:
    return run.client_cpu_s / run.requests * 1e6


def _chunk_us(run: RoundRun) -> float:
    return run.server_cpu_s / run.chunks * 1e6 if run.chunks else math.nan


def _cell(group: Sequence[RoundRun]) -> Cell:
    ok = [run for run in group if run.requests]
    workload = group[0].workload
    errors: Counter[str] = Counter()
    for run in group:
        errors.update(run.errors)
    cpu_req = _median_of(ok, _server_us)
    streamed = workload.stream and bool(ok) and all(r.first_chunk_s for r in ok)
    return Cell(
        target=group[0].target,
        workload=workload.key,
        rounds=len(group),
        requests=sum(run.requests for run in group),
        p50_ms=_median_of(ok, lambda r: percentile(r.latencies_s, 50) * 1e3),
        p99_ms=_median_of(ok, lambda r: percentile(r.latencies_s, 99) * 1e3),
        ttfc_p50_ms=_median_of(ok, lambda r: percentile(r.first_chunk_s, 50) * 1e3) if streamed else None,
        ttfc_p99_ms=_median_of(ok, lambda r: percentile(r.first_chunk_s, 99) * 1e3) if streamed else None,
        rps=_median_of(ok, lambda r: r.requests / r.elapsed_s) if ok else 0.0,
        server_cpu_us_per_req=cpu_req,
        server_cpu_us_per_chunk=_median_of(ok, _chunk_us) if workload.stream else None,
        upstream_cpu_us_per_req=_median_of(ok, _upstream_us),
        client_cpu_us_per_req=_median_of(ok, _client_us),
        process_cpu_us_per_req={
            name: _median_of(ok, lambda r, n=name: r.process_cpu_s.get(n, 0.0) / r.requests * 1e6)
            for name in group[0].process_cpu_s
        },
        errors=sum(errors.values()),
        error_messages=dict(errors.most_common()),
    )


def aggregate(runs: Sequence[RoundRun]) -> list[Cell]:
    """Group runs by (target, workload) and reduce each group to a Cell."""
    groups: dict[tuple[str, str], list[RoundRun]] = {}
    for run in runs:
        groups.setdefault((run.target, run.workload.key), []).append(run)
    order = {w.key: i for i, w in enumerate(WORKLOADS)}
    cells = [_cell(group) for group in groups.values()]
    cells.sort(key=lambda c: (order[c.workload], c.target))
    return cells


def find(cells: Sequence[Cell], target: str, workload: str) -> Cell | None:
    """The cell for a target and workload, if that pair ran."""
    return next((c for c in cells if c.target == target and c.workload == workload), None)


#: (first, second, what the pair compares): the ratios the report prints.
RATIOS = (
    ("C", "B", "LiteLLM door / bare LiteLLM"),
    ("L", "B", "LiteLLM door, AllCaps / bare LiteLLM"),
    ("N", "M", "LiteLLM door, tool guard / bare LiteLLM, tool calls"),
    ("D", "A", "OpenAI door / its upstream"),
    ("P", "O", "OpenAI door, tool guard / its upstream, tool calls"),
    ("D", "B", "OpenAI door / bare LiteLLM"),
    ("G", "F", "Anthropic door / its upstream"),
    ("R", "Q", "Anthropic door, tool guard / its upstream, tool calls"),
    ("G", "D", "Anthropic door / OpenAI door"),
    ("J", "I", "Responses door / its upstream"),
    ("T", "S", "Responses door, tool guard / its upstream, tool calls"),
    ("J", "D", "Responses door / OpenAI door"),
)
#: (door, its upstream, what): the pairs held to the bar of LATENCY_BAR_MS over the upstream.
DOORS = (
    ("D", "A", "OpenAI chat, NoOp"),
    ("E", "A", "OpenAI chat, AllCaps"),
    ("P", "O", "OpenAI chat, tool guard"),
    ("G", "F", "Anthropic Messages, NoOp"),
    ("H", "F", "Anthropic Messages, AllCaps"),
    ("R", "Q", "Anthropic Messages, tool guard"),
    ("J", "I", "OpenAI Responses, NoOp"),
    ("K", "I", "OpenAI Responses, AllCaps"),
    ("T", "S", "OpenAI Responses, tool guard"),
)
#: A native door must add at most this to its upstream's non-stream p50 at c=1 (a goal, `goals`).
LATENCY_BAR_MS = 0.25


def ratios(cells: Sequence[Cell]) -> list[tuple[str, str, str, float, float]]:
    """(workload, first, second, p50 ratio, rps ratio) for each pair that ran."""
    out = []
    for workload in WORKLOADS:
        for num, den, _ in RATIOS:
            a, b = find(cells, num, workload.key), find(cells, den, workload.key)
            if a and b and b.p50_ms and b.rps:
                out.append((workload.key, num, den, a.p50_ms / b.p50_ms, a.rps / b.rps))
    return out


@dataclass(frozen=True)
class Added:
    """What a door adds to its upstream's latency in one workload, in ms (TTFC for streams)."""

    door: str
    upstream: str
    workload: str
    p50_ms: float
    ttfc_ms: float | None

    @property
    def barred(self) -> bool:
        """Whether the bar applies: non-stream at c=1 (at concurrency the difference is queueing)."""
        workload = WORKLOAD_BY_KEY[self.workload]
        return workload.concurrency == 1 and not workload.stream

    @property
    def within_bar(self) -> bool:
        """Within the bar (non-stream p50 at c=1)."""
        return self.p50_ms <= LATENCY_BAR_MS


def added(cells: Sequence[Cell]) -> list[Added]:
    """Door minus upstream, per DOORS pair and workload that both ran."""
    out = []
    for door, upstream, _ in DOORS:
        for workload in WORKLOADS:
            d, u = find(cells, door, workload.key), find(cells, upstream, workload.key)
            if d and u:
                ttfc = (
                    d.ttfc_p50_ms - u.ttfc_p50_ms
                    if d.ttfc_p50_ms is not None and u.ttfc_p50_ms is not None
                    else None
                )
                out.append(Added(door, upstream, workload.key, d.p50_ms - u.p50_ms, ttfc))
    return out
