"""`luthien bench --quick` end to end: every target starts, answers every workload correctly, and the
report and the JSON figures come out whole."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from luthien_proxy.tooling.bench.targets import TARGETS
from luthien_proxy.tooling.bench.workloads import WORKLOADS
from luthien_proxy.tooling.stack.processes import child_env

pytestmark = pytest.mark.e2e


def test_quick_benchmark_covers_every_target_and_workload_without_errors(tmp_path: Path) -> None:
    report_path, json_path = tmp_path / "bench.md", tmp_path / "bench.json"
    args = ["--quick", "--output", str(report_path), "--json", str(json_path)]
    proc = subprocess.run(
        [sys.executable, "-m", "luthien_proxy.tooling.bench", *args],
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}\n{proc.stdout[-4000:]}"

    figures = json.loads(json_path.read_text())
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

    report = report_path.read_text()
    assert report in proc.stdout
    for workload in WORKLOADS:
        for target in TARGETS:
            assert f"| {workload.title} | {target} |" in report
    assert "## Goals" in report and "## How to read this" in report and "ERRORS" not in report
