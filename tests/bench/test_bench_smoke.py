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


@pytest.mark.parametrize(
    ("upstream", "noop", "caps", "api", "door"),
    [
        ("F", "G", "H", "Anthropic Messages", "Anthropic door"),
        ("I", "J", "K", "OpenAI Responses", "Responses door"),
    ],
)
def test_a_native_api_alone_is_measured_against_its_upstream(
    tmp_path: Path, upstream: str, noop: str, caps: str, api: str, door: str
) -> None:
    """One native-door API alone (F, G, H: Anthropic Messages; I, J, K: OpenAI Responses): its figures,
    its ratios and its bar come out; its two doors share control planes with nothing else here, so each
    starts its own."""
    keys = [upstream, noop, caps]
    figures, report, _ = _quick_bench(tmp_path, "--targets", ",".join(keys))

    assert figures["targets"] == keys and figures["total_errors"] == 0
    assert figures["control_planes"] == [f"control-plane-{noop}", f"control-plane-{caps}"]
    cells = {(c["target"], c["workload"]): c for c in figures["cells"]}
    assert set(cells) == {(t, w.key) for t in keys for w in WORKLOADS}
    for (target, workload), cell in cells.items():
        assert cell["errors"] == 0 and cell["p50_ms"] > 0 and cell["rps"] > 0, (target, workload)
        if workload.startswith("st-"):
            assert 0 < cell["ttfc_p50_ms"] <= cell["p50_ms"], (target, workload)
    # The door does more than the upstream it forwards to; the added latency is door - upstream.
    for target in (noop, caps):
        assert (
            cells[(target, "ns-c1")]["server_cpu_us_per_req"]
            > cells[(upstream, "ns-c1")]["server_cpu_us_per_req"]
        )
    added = {(r["door"], r["workload"]): r for r in figures["added_ms"]}
    assert set(added) == {(d, w.key) for d in (noop, caps) for w in WORKLOADS}
    first = added[(noop, "ns-c1")]
    assert first["p50_ms"] == pytest.approx(
        cells[(noop, "ns-c1")]["p50_ms"] - cells[(upstream, "ns-c1")]["p50_ms"]
    )
    assert first["barred"] and not added[(noop, "ns-c32")]["barred"]
    assert {(r["first"], r["second"]) for r in figures["ratios"]} == {(noop, upstream)}
    goals = {g["name"]: g["status"] for g in figures["goals"]}
    assert goals[f"{noop} non-stream c=1 p50 ≤ {upstream} p50 + 1 ms"] in {"PASS", "FAIL"}
    assert goals[f"{noop} stream TTFT ≤ {upstream} TTFT + 1 ms (c=1)"] in {"PASS", "FAIL"}

    for workload in WORKLOADS:
        for target in keys:
            assert f"| {workload.title} | {target} |" in report
    assert f"| {noop}/{upstream} ({door} / its upstream) |" in report
    assert f"| {noop} − {upstream} ({api}, NoOp) |" in report
    assert f"| {caps} − {upstream} ({api}, AllCaps) |" in report
