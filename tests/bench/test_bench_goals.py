"""The goals table's arithmetic on made-up figures: each goal's ratio, its PASS/FAIL at the limit,
n/a when a baseline did not run, and which targets have goals at all (no test servers needed)."""

from __future__ import annotations

import math

from luthien_proxy.tooling.bench.goals import Goal, goals, summary
from luthien_proxy.tooling.bench.results import Cell
from luthien_proxy.tooling.bench.workloads import WORKLOADS


def _cell(target: str, workload: str, p50_ms: float, rps: float = 100.0) -> Cell:
    return Cell(target, workload, 3, 100, p50_ms, p50_ms * 2, None, None, rps, 0.0, None, 0.0, 0.0, {}, 0, {})


def _by_name(found: list[Goal]) -> dict[str, Goal]:
    return {g.name: g for g in found}


def test_the_litellm_door_with_a_policy_is_held_to_bare_litellm_asked_the_same() -> None:
    cells = []
    for w in WORKLOADS:
        cells += [_cell("B", w.key, 10.0), _cell("C", w.key, 30.0), _cell("L", w.key, 11.0)]
        cells += [_cell("M", w.key, 20.0), _cell("N", w.key, 22.2)]
    found = _by_name(goals(cells, {}))
    first = found["L (AllCaps) p50 ≤ 1.10× B p50, non-stream c=1"]
    assert (first.measured, first.limit, first.status) == ("1.10× (11.00 / 10.00 ms)", "≤ 1.10×", "PASS")
    guard = found["N (tool guard) p50 ≤ 1.10× M p50, stream 20 ms/chunk c=16"]
    assert guard.measured.startswith("1.11×") and guard.status == "FAIL"
    litellm = [n for n in found if n.startswith(("L (", "N ("))]
    assert len(litellm) == 2 * len(WORKLOADS)
    assert not any(n.startswith(("B", "C", "M")) for n in found)  # NoOp (C) is not what users run


def test_a_native_door_adds_at_most_a_quarter_millisecond_and_keeps_half_the_throughput() -> None:
    cells = [
        _cell("A", "ns-c1", 0.10),
        _cell("D", "ns-c1", 0.35),
        _cell("E", "ns-c1", 0.36),
        _cell("A", "ns-c32", 2.0, rps=4000.0),
        _cell("D", "ns-c32", 4.0, rps=2000.0),
        _cell("E", "ns-c32", 4.0, rps=1999.0),
        _cell("P", "ns-c1", 1.0),  # its upstream (O) did not run
    ]
    found = _by_name(goals(cells, {"control-plane-DGJ": 120.0, "control-plane-EHK": 151.0}))
    assert found["D (NoOp) adds ≤ 0.25 ms to A's p50, non-stream c=1"].status == "PASS"
    added = found["E (AllCaps) adds ≤ 0.25 ms to A's p50, non-stream c=1"]
    assert (added.measured, added.status) == ("0.26 ms (0.36 − 0.10)", "FAIL")
    assert found["D (NoOp) req/s ≥ 50% of A's, non-stream c=32"].status == "PASS"
    share = found["E (AllCaps) req/s ≥ 50% of A's, non-stream c=32"]
    assert (share.measured, share.limit, share.status) == ("50% (1999 / 4000 req/s)", "≥ 50%", "FAIL")
    assert found["P (tool guard) adds ≤ 0.25 ms to O's p50, non-stream c=1"].status == "n/a"
    rss = found["control-plane RSS ≤ 150 MB (largest: control-plane-EHK)"]
    assert (rss.measured, rss.status) == ("151 MB", "FAIL")
    assert summary(list(found.values())) == "6 goals: 2 PASS, 3 FAIL, 1 n/a"


def test_no_control_plane_no_nan() -> None:
    found = goals([_cell("A", "ns-c1", math.nan)], {})
    assert [(g.name, g.status) for g in found] == [("control-plane RSS ≤ 150 MB", "n/a")]
    assert summary(found) == "1 goal: 0 PASS, 0 FAIL, 1 n/a"
