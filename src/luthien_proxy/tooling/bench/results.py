"""Benchmark figures: per-round measurements, medians over rounds, ratios and the team's goals."""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from luthien_proxy.tooling.bench.workloads import STREAM_CHUNKS, WORKLOADS, Workload

RSS_LIMIT_MB = 150.0
CPU_PER_CHUNK_LIMIT_US = 50.0


@dataclass
class RoundRun:
    """One target running one workload in one round."""

    target: str
    workload: Workload
    round: int
    latencies_s: list[float]
    first_chunk_s: list[float]
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
        rps=_median_of(ok, lambda r: r.requests / r.elapsed_s) if ok else 0.0,
        server_cpu_us_per_req=cpu_req,
        server_cpu_us_per_chunk=cpu_req / STREAM_CHUNKS if workload.stream else None,
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
    ("D", "A", "OpenAI door / its upstream"),
    ("D", "B", "OpenAI door / bare LiteLLM"),
    ("G", "F", "Anthropic door / its upstream"),
    ("G", "D", "Anthropic door / OpenAI door"),
    ("J", "I", "Responses door / its upstream"),
    ("J", "D", "Responses door / OpenAI door"),
)
#: (door, its upstream, what): the pairs held to the bar of LATENCY_BAR_MS over the upstream.
DOORS = (
    ("D", "A", "OpenAI chat, NoOp"),
    ("E", "A", "OpenAI chat, AllCaps"),
    ("G", "F", "Anthropic Messages, NoOp"),
    ("H", "F", "Anthropic Messages, AllCaps"),
    ("J", "I", "OpenAI Responses, NoOp"),
    ("K", "I", "OpenAI Responses, AllCaps"),
)
#: A native door must add at most this to its upstream's latency at c=1 (p50, and stream TTFC).
LATENCY_BAR_MS = 1.0
WORKLOAD_BY_KEY = {w.key: w for w in WORKLOADS}


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
        """Whether the bar applies (c=1: at concurrency the difference is queueing on the cores)."""
        return WORKLOAD_BY_KEY[self.workload].concurrency == 1

    @property
    def within_bar(self) -> bool:
        """Within the bar: non-stream p50, or stream time to first chunk."""
        measured = self.ttfc_ms if WORKLOAD_BY_KEY[self.workload].stream else self.p50_ms
        return measured is not None and measured <= LATENCY_BAR_MS


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


@dataclass(frozen=True)
class Goal:
    """A target the team must eventually meet: description, measured value, limit, PASS/FAIL/n/a."""

    name: str
    measured: str
    limit: str
    status: str


def _check(name: str, measured: float | None, limit: float | None, unit: str, fmt: str = ".2f") -> Goal:
    if measured is None or limit is None or math.isnan(measured) or math.isnan(limit):
        return Goal(name, "n/a", "n/a" if limit is None else f"{limit:{fmt}} {unit}", "n/a")
    status = "PASS" if measured <= limit else "FAIL"
    return Goal(name, f"{measured:{fmt}} {unit}", f"≤ {limit:{fmt}} {unit}", status)


def goals(cells: Sequence[Cell], control_plane_rss_mb: dict[str, float]) -> list[Goal]:
    """Evaluate the team's performance goals against this run."""

    def get(target: str, workload: str) -> Cell | None:
        return find(cells, target, workload)

    out: list[Goal] = []
    for door, upstream in (("D", "A"), ("G", "F"), ("J", "I")):
        u_ns, d_ns = get(upstream, "ns-c1"), get(door, "ns-c1")
        u_st, d_st = get(upstream, "st-c1"), get(door, "st-c1")
        d_chunk = [c.server_cpu_us_per_chunk for c in (d_st, get(door, "st-c16")) if c]
        out += [
            _check(
                f"{door} non-stream c=1 p50 ≤ {upstream} p50 + 1 ms",
                d_ns and d_ns.p50_ms,
                u_ns and u_ns.p50_ms + LATENCY_BAR_MS,
                "ms",
            ),
            _check(
                f"{door} stream TTFT ≤ {upstream} TTFT + 1 ms (c=1)",
                d_st and d_st.ttfc_p50_ms,
                u_st and u_st.ttfc_p50_ms and u_st.ttfc_p50_ms + LATENCY_BAR_MS,
                "ms",
            ),
            _check(
                f"{door} server CPU per chunk ≤ 50 µs (worse stream workload)",
                max((v for v in d_chunk if v is not None), default=None),
                CPU_PER_CHUNK_LIMIT_US,
                "µs",
                ".1f",
            ),
        ]
    b32, d32 = get("B", "ns-c32"), get("D", "ns-c32")
    if b32 and d32 and b32.rps:
        ratio = d32.rps / b32.rps
        out.append(
            Goal("D rps at c=32 ≥ 10× B rps", f"{ratio:.1f}×", "≥ 10×", "PASS" if ratio >= 10 else "FAIL")
        )
    else:
        out.append(Goal("D rps at c=32 ≥ 10× B rps", "n/a", "≥ 10×", "n/a"))
    for key, label in (("ns-c1", "non-stream"), ("st-c1", "stream")):
        b, c = get("B", key), get("C", key)
        out.append(_check(f"C p50 ≤ 1.10× B p50, {label} c=1", c and c.p50_ms, b and b.p50_ms * 1.10, "ms"))
    if control_plane_rss_mb:
        name, worst = max(control_plane_rss_mb.items(), key=lambda item: item[1])
        out.append(_check(f"control-plane RSS ≤ 150 MB (largest: {name})", worst, RSS_LIMIT_MB, "MB", ".0f"))
    else:
        out.append(Goal("control-plane RSS ≤ 150 MB", "n/a", "≤ 150 MB", "n/a"))
    return out
