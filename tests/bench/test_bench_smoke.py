"""`luthien bench --quick` end to end: every target starts, answers every workload correctly, and the
report and the JSON figures come out whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from luthien_proxy.tooling.bench.targets import TARGETS
from luthien_proxy.tooling.bench.workloads import WORKLOADS
from luthien_proxy.tooling.stack.processes import child_env

pytestmark = pytest.mark.e2e


def _quick_bench(tmp_path: Path, *extra: str) -> tuple[dict[str, Any], str, str]:
    """Run `luthien bench --quick` with `extra` options; (JSON figures, report, stdout)."""
    report_path, json_path = tmp_path / "bench.md", tmp_path / "bench.json"
    args = ["--quick", "--output", str(report_path), "--json", str(json_path), *extra]
    proc = subprocess.run(
        [sys.executable, "-m", "luthien_proxy.tooling.bench", *args],
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}\n{proc.stdout[-4000:]}"
    return json.loads(json_path.read_text()), report_path.read_text(), proc.stdout


def test_quick_benchmark_covers_every_target_and_workload_without_errors(tmp_path: Path) -> None:
    figures, report, stdout = _quick_bench(tmp_path)
    assert figures["targets"] == list(TARGETS)
    assert figures["total_errors"] == 0
    cells = {(c["target"], c["workload"]): c for c in figures["cells"]}
    assert set(cells) == {(t, w.key) for t in TARGETS for w in WORKLOADS}
    for (target, workload), cell in cells.items():
        assert cell["errors"] == 0, (target, workload, cell["error_messages"])
        assert cell["requests"] >= 1 and cell["p50_ms"] > 0 and cell["rps"] > 0, (target, workload)
        if workload.startswith("st-"):
            assert cell["ttfc_p50_ms"] is not None and cell["ttfc_p50_ms"] <= cell["p50_ms"]
    assert set(figures["control_planes"]) <= set(figures["rss_mb"])
    assert {g["status"] for g in figures["goals"]} <= {"PASS", "FAIL", "n/a"}

    assert report in stdout
    for workload in WORKLOADS:
        for target in TARGETS:
            assert f"| {workload.title} | {target} |" in report
    assert "## Goals" in report and "## How to read this" in report and "ERRORS" not in report


def test_anthropic_targets_measure_both_apis_of_one_door_against_their_upstream(tmp_path: Path) -> None:
    """F, G and H alone: the Anthropic door's figures, its ratios and its bar come out; G and H share
    control planes with nothing else here, so each starts its own."""
    figures, report, _ = _quick_bench(tmp_path, "--targets", "F,G,H")

    assert figures["targets"] == ["F", "G", "H"] and figures["total_errors"] == 0
    assert figures["control_planes"] == ["control-plane-G", "control-plane-H"]
    cells = {(c["target"], c["workload"]): c for c in figures["cells"]}
    assert set(cells) == {(t, w.key) for t in "FGH" for w in WORKLOADS}
    for (target, workload), cell in cells.items():
        assert cell["errors"] == 0 and cell["p50_ms"] > 0 and cell["rps"] > 0, (target, workload)
        if workload.startswith("st-"):
            assert 0 < cell["ttfc_p50_ms"] <= cell["p50_ms"], (target, workload)
    # The door does more than the upstream it forwards to; the added latency is door - upstream.
    for door in "GH":
        assert (
            cells[(door, "ns-c1")]["server_cpu_us_per_req"] > cells[("F", "ns-c1")]["server_cpu_us_per_req"]
        )
    added = {(r["door"], r["workload"]): r for r in figures["added_ms"]}
    assert set(added) == {(d, w.key) for d in "GH" for w in WORKLOADS}
    g1 = added[("G", "ns-c1")]
    assert g1["p50_ms"] == pytest.approx(cells[("G", "ns-c1")]["p50_ms"] - cells[("F", "ns-c1")]["p50_ms"])
    assert g1["barred"] and not added[("G", "ns-c32")]["barred"]
    assert {(r["first"], r["second"]) for r in figures["ratios"]} == {("G", "F")}
    goals = {g["name"]: g["status"] for g in figures["goals"]}
    assert goals["G non-stream c=1 p50 ≤ F p50 + 1 ms"] in {"PASS", "FAIL"}
    assert goals["G stream TTFT ≤ F TTFT + 1 ms (c=1)"] in {"PASS", "FAIL"}

    for workload in WORKLOADS:
        for target in "FGH":
            assert f"| {workload.title} | {target} |" in report
    assert "| G/F (Anthropic door / its upstream) |" in report
    assert (
        "| G − F (Anthropic Messages, NoOp) |" in report
        and "| H − F (Anthropic Messages, AllCaps) |" in report
    )
