"""The report's goal table and its first-chunk-and-tails table (the realistic upstream's pairs)."""

from __future__ import annotations

import math

from luthien_proxy.tooling.bench.goals import Goal, goals, summary
from luthien_proxy.tooling.bench.results import RATIOS, Cell, find
from luthien_proxy.tooling.bench.runner import BenchResult


def _f(value: float | None, fmt: str = ".2f") -> str:
    return "–" if value is None or math.isnan(value) else format(value, fmt)


def _control_plane_rss(result: BenchResult) -> dict[str, float]:
    return {name: mb for name, mb in result.rss_mb.items() if name in result.control_planes}


def run_goals(result: BenchResult) -> list[Goal]:
    """The goals evaluated on this run."""
    return goals(result.cells, _control_plane_rss(result))


def goal_table(result: BenchResult) -> list[str]:
    found = run_goals(result)
    lines = [
        "",
        "## Goals",
        "",
        "What users run must cost little: the LiteLLM door with an active policy at most "
        "1.10× bare LiteLLM's p50 (asked the same requests); a native door at most 0.25 ms over "
        "its upstream's p50 at c=1 and at least half its req/s at c=32; a control plane in 150 MB. "
        f"This run: {summary(found)}.",
        "",
        "| goal | measured | limit | status |",
        "|---|--:|--:|---|",
    ]
    for goal in found:
        status = f"**{goal.status}**" if goal.status == "FAIL" else goal.status
        lines.append(f"| {goal.name} | {goal.measured} | {goal.limit} | {status} |")
    return lines


def _pair(first: Cell, second: Cell, value: str) -> str:
    a, b = getattr(first, value), getattr(second, value)
    if a is None or b is None:
        return "–"
    return f"{_f(a)} / {_f(b)} ({_f(a / b) if b else '–'}×)"


def realistic_table(result: BenchResult) -> list[str]:
    """Each ratio pair on the upstream with a model's pace: first chunk and tails, side by side."""
    realistic = [w for w in result.options.chosen if w.delay_ms]
    lines: list[str] = []
    for workload in realistic:
        rows = [
            (a, b, what, first, second)
            for a, b, what in RATIOS
            if (first := find(result.cells, a, workload.key))
            and (second := find(result.cells, b, workload.key))
        ]
        if not rows:
            continue
        lines += [
            "",
            f"### First chunk and tails: {workload.title}",
            "",
            f"The upstream waits {workload.delay(result.options.quick)} ms before each frame, as a model "
            "streams; what a user feels is the time to the first chunk and the slow tail. Each cell: "
            "first target / second target (ratio), in ms.",
            "",
            "| pair | TTFC p50 | TTFC p99 | p50 | p99 |",
            "|---|--:|--:|--:|--:|",
        ]
        for a, b, what, first, second in rows:
            values = " | ".join(
                _pair(first, second, v) for v in ("ttfc_p50_ms", "ttfc_p99_ms", "p50_ms", "p99_ms")
            )
            lines.append(f"| {a}/{b} ({what}) | {values} |")
    return lines
