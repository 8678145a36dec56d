"""The team's speed goals (issue 22), each evaluated on a run as PASS, FAIL or n/a with its ratio.

- The LiteLLM door with an active policy (AllCaps, the tool guard) costs at most 1.10× bare
  LiteLLM's p50 (each against bare LiteLLM asked the same requests), in every workload: streamed
  and not, c=1 and concurrent, and the realistic upstream.
- A native door adds at most 0.25 ms to its direct upstream's non-stream p50 at c=1, and serves at
  least 50 % of the upstream's req/s at c=32 (every policy, every API).
- Every control plane's RSS after the run is at most 150 MB.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from luthien_proxy.tooling.bench.catalog import TARGETS, TargetSpec
from luthien_proxy.tooling.bench.results import Cell, find
from luthien_proxy.tooling.bench.workloads import WORKLOADS

LITELLM_P50_RATIO = 1.10
NATIVE_ADDED_MS = 0.25
NATIVE_RPS_SHARE = 0.50
RSS_LIMIT_MB = 150.0
_POLICY_NAMES = {"noop": "NoOp", "all_caps": "AllCaps", "tool_guard": "tool guard"}


@dataclass(frozen=True)
class Goal:
    """A goal the team must meet: what it says, the measured value (with its ratio), limit, status."""

    name: str
    measured: str
    limit: str
    status: str  # PASS, FAIL, or n/a when a target it needs did not run


def _nan(*values: float) -> bool:
    return any(math.isnan(v) for v in values)


def _litellm(spec: TargetSpec, cells: Sequence[Cell]) -> list[Goal]:
    base = spec.baseline or ""
    policy = _POLICY_NAMES.get(spec.policy or "", spec.policy)
    out = []
    limit = f"≤ {LITELLM_P50_RATIO:.2f}×"
    for workload in WORKLOADS:
        a, b = find(cells, spec.key, workload.key), find(cells, base, workload.key)
        if a is None and b is None:
            continue
        name = f"{spec.key} ({policy}) p50 ≤ {LITELLM_P50_RATIO:.2f}× {base} p50, {workload.title}"
        if a is None or b is None or not b.p50_ms or _nan(a.p50_ms, b.p50_ms):
            out.append(Goal(name, "n/a", limit, "n/a"))
            continue
        ratio = a.p50_ms / b.p50_ms
        measured = f"{ratio:.2f}× ({a.p50_ms:.2f} / {b.p50_ms:.2f} ms)"
        out.append(Goal(name, measured, limit, "PASS" if ratio <= LITELLM_P50_RATIO else "FAIL"))
    return out


def _native(spec: TargetSpec, cells: Sequence[Cell]) -> list[Goal]:
    base = spec.baseline or ""
    policy = _POLICY_NAMES.get(spec.policy or "", spec.policy)
    out = []
    d, u = find(cells, spec.key, "ns-c1"), find(cells, base, "ns-c1")
    name = f"{spec.key} ({policy}) adds ≤ {NATIVE_ADDED_MS} ms to {base}'s p50, non-stream c=1"
    limit = f"≤ {NATIVE_ADDED_MS:.2f} ms"
    if d is not None or u is not None:
        if d is None or u is None or _nan(d.p50_ms, u.p50_ms):
            out.append(Goal(name, "n/a", limit, "n/a"))
        else:
            extra = d.p50_ms - u.p50_ms
            measured = f"{extra:.2f} ms ({d.p50_ms:.2f} − {u.p50_ms:.2f})"
            out.append(Goal(name, measured, limit, "PASS" if extra <= NATIVE_ADDED_MS else "FAIL"))
    d, u = find(cells, spec.key, "ns-c32"), find(cells, base, "ns-c32")
    name = f"{spec.key} ({policy}) req/s ≥ {NATIVE_RPS_SHARE:.0%} of {base}'s, non-stream c=32"
    limit = f"≥ {NATIVE_RPS_SHARE:.0%}"
    if d is not None or u is not None:
        if d is None or u is None or not u.rps:
            out.append(Goal(name, "n/a", limit, "n/a"))
        else:
            share = d.rps / u.rps
            measured = f"{share:.0%} ({d.rps:.0f} / {u.rps:.0f} req/s)"
            out.append(Goal(name, measured, limit, "PASS" if share >= NATIVE_RPS_SHARE else "FAIL"))
    return out


def goals(cells: Sequence[Cell], control_plane_rss_mb: dict[str, float]) -> list[Goal]:
    """Evaluate the goals against this run: those of every door target that ran, and memory."""
    ran = {c.target for c in cells}
    out: list[Goal] = []
    for spec in TARGETS.values():
        if spec.key not in ran:
            continue
        if spec.kind == "litellm+luthien" and spec.active:
            out += _litellm(spec, cells)
        elif spec.kind == "native":
            out += _native(spec, cells)
    limit = f"≤ {RSS_LIMIT_MB:.0f} MB"
    if control_plane_rss_mb:
        name, worst = max(control_plane_rss_mb.items(), key=lambda item: item[1])
        status = "PASS" if worst <= RSS_LIMIT_MB else "FAIL"
        out.append(
            Goal(
                f"control-plane RSS ≤ {RSS_LIMIT_MB:.0f} MB (largest: {name})",
                f"{worst:.0f} MB",
                limit,
                status,
            )
        )
    else:
        out.append(Goal(f"control-plane RSS ≤ {RSS_LIMIT_MB:.0f} MB", "n/a", limit, "n/a"))
    return out


def summary(found: Sequence[Goal]) -> str:
    """`12 goals: 3 PASS, 9 FAIL` (and n/a when some could not be evaluated)."""
    counts = {status: sum(g.status == status for g in found) for status in ("PASS", "FAIL", "n/a")}
    parts = [f"{n} {status}" for status, n in counts.items() if n or status != "n/a"]
    return f"{len(found)} goal{'' if len(found) == 1 else 's'}: " + ", ".join(parts)
