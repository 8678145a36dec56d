"""`luthien bench --quick` end to end: every target starts, answers every workload as its policy
should (AllCaps upper-cased, the tool guard's harmless call released), and the report, its goals
table and the JSON figures come out whole. One quick run of every target is shared by the tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from luthien_proxy.tooling.bench.goals import Goal, summary
from luthien_proxy.tooling.bench.targets import TARGETS
from luthien_proxy.tooling.bench.workloads import WORKLOAD_BY_KEY, WORKLOADS
from luthien_proxy.tooling.stack.processes import child_env

pytestmark = pytest.mark.e2e


def _quick_bench(tmp_path: Path, *extra: str) -> tuple[dict[str, Any], str, str, str]:
    """Run `luthien bench --quick` with `extra` options; (JSON figures, report, stdout, stderr)."""
    report_path, json_path = tmp_path / "bench.md", tmp_path / "bench.json"
    args = ["--quick", "--output", str(report_path), "--json", str(json_path), *extra]
    proc = subprocess.run(
        [sys.executable, "-m", "luthien_proxy.tooling.bench", *args],
        env=child_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stderr[-4000:]}\n{proc.stdout[-4000:]}"
    return json.loads(json_path.read_text()), report_path.read_text(), proc.stdout, proc.stderr


#: Every target but C (LiteLLM + Luthien with NoOp): each LiteLLM process costs ~8 s of CPU to
#: start, and C's kind of target is exercised by L and N here (it runs in `make bench`).
KEYS = [key for key in TARGETS if key != "C"]


@pytest.fixture(scope="module")
def every_target(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, str, str]:
    return _quick_bench(tmp_path_factory.mktemp("bench"), "--targets", ",".join(KEYS))


def test_quick_benchmark_covers_every_target_and_workload_without_errors(
    every_target: tuple[dict[str, Any], str, str, str],
) -> None:
    figures, report, stdout, stderr = every_target
    assert figures["targets"] == KEYS
    assert figures["total_errors"] == 0
    cells = {(c["target"], c["workload"]): c for c in figures["cells"]}
    assert set(cells) == {(t, w.key) for t in KEYS for w in WORKLOADS}
    for (target, workload), cell in cells.items():
        assert cell["errors"] == 0, (target, workload, cell["error_messages"])
        assert cell["requests"] >= 1 and cell["p50_ms"] > 0 and cell["rps"] > 0, (target, workload)
        if workload.startswith("st-"):
            assert cell["ttfc_p50_ms"] is not None and cell["ttfc_p50_ms"] <= cell["p50_ms"]
            assert cell["ttfc_p99_ms"] >= cell["ttfc_p50_ms"]
    # The realistic upstream waits before every frame, through every door (the knob is forwarded).
    real = WORKLOAD_BY_KEY["st-real"]
    for target, spec in ((k, TARGETS[k]) for k in KEYS):
        frames = (
            6 if spec.tool_calls else 22
        )  # a tool call's start, 4 fragments, finish; text: role, 20, finish
        assert cells[(target, "st-real")]["p50_ms"] >= frames * real.delay(quick=True), target
    assert set(figures["control_planes"]) <= set(figures["rss_mb"])
    assert "control-plane-PRT" in figures["control_planes"]  # the tool guard's native doors share one
    for key in ("N", "P", "R", "T"):  # each tool guard really judges: it blocked the dangerous probe
        assert f"  {key}: the tool guard blocked the probe's" in stderr

    assert report in stdout
    for workload in WORKLOADS:
        for target in KEYS:
            assert f"| {workload.title} | {target} |" in report
    assert "## Goals" in report and "## How to read this" in report and "ERRORS" not in report
    assert "### First chunk and tails: stream 20 ms/chunk c=16" in report
    assert "| L/B (LiteLLM door, AllCaps / bare LiteLLM) |" in report
    assert "| N/M (LiteLLM door, tool guard / bare LiteLLM, tool calls) |" in report


def test_the_goals_are_printed_with_their_ratios_each_pass_or_fail(
    every_target: tuple[dict[str, Any], str, str, str],
) -> None:
    figures, report, _, stderr = every_target
    goals = {g["name"]: g for g in figures["goals"]}
    assert {g["status"] for g in goals.values()} <= {"PASS", "FAIL"}  # every target ran: no n/a
    cells = {(c["target"], c["workload"]): c for c in figures["cells"]}
    # The LiteLLM door with an active policy against bare LiteLLM asked the same, in every workload.
    for door, bare, policy in (("L", "B", "AllCaps"), ("N", "M", "tool guard")):
        for workload in WORKLOADS:
            goal = goals[f"{door} ({policy}) p50 ≤ 1.10× {bare} p50, {workload.title}"]
            ratio = cells[(door, workload.key)]["p50_ms"] / cells[(bare, workload.key)]["p50_ms"]
            assert goal["measured"].startswith(f"{ratio:.2f}×") and goal["limit"] == "≤ 1.10×"
            assert goal["status"] == ("PASS" if ratio <= 1.10 else "FAIL")
    assert not any(name.startswith(("B (", "M (")) for name in goals)  # bare LiteLLM is the baseline
    # Every native door (each policy, each API) against its direct upstream.
    for spec in (s for s in TARGETS.values() if s.kind == "native"):
        d, u = cells[(spec.key, "ns-c1")], cells[(spec.baseline, "ns-c1")]
        added = next(g for n, g in goals.items() if n.startswith(f"{spec.key} (") and "adds" in n)
        assert added["status"] == ("PASS" if d["p50_ms"] - u["p50_ms"] <= 0.25 else "FAIL")
        share = cells[(spec.key, "ns-c32")]["rps"] / cells[(spec.baseline, "ns-c32")]["rps"]
        rps = next(g for n, g in goals.items() if n.startswith(f"{spec.key} (") and "req/s" in n)
        assert rps["measured"].startswith(f"{share:.0%}") and rps["status"] == (
            "PASS" if share >= 0.5 else "FAIL"
        )
    assert any(n.startswith("control-plane RSS ≤ 150 MB") for n in goals)
    # The table in the report and the list in the terminal, each goal with its status.
    for goal in goals.values():
        status = f"**{goal['status']}**" if goal["status"] == "FAIL" else goal["status"]
        assert f"| {goal['name']} | {goal['measured']} | {goal['limit']} | {status} |" in report
        assert f"{goal['status']:<4}  {goal['name']}: {goal['measured']}" in stderr
    assert summary([Goal(**g) for g in goals.values()]) in report


@pytest.mark.parametrize(
    ("upstream", "noop", "caps", "tools", "guard", "api", "door"),
    [
        ("A", "D", "E", "O", "P", "OpenAI chat", "OpenAI door"),
        ("F", "G", "H", "Q", "R", "Anthropic Messages", "Anthropic door"),
        ("I", "J", "K", "S", "T", "OpenAI Responses", "Responses door"),
    ],
)
def test_each_native_api_is_measured_against_its_upstream(
    every_target: tuple[dict[str, Any], str, str, str],
    upstream: str,
    noop: str,
    caps: str,
    tools: str,
    guard: str,
    api: str,
    door: str,
) -> None:
    """Each native-door API under each policy: its figures, its ratios and its bar; the tool guard's
    door is held against the upstream asked for the same tool calls."""
    figures, report, _, _ = every_target
    cells = {(c["target"], c["workload"]): c for c in figures["cells"]}
    for target, base in ((noop, upstream), (caps, upstream), (guard, tools)):
        assert TARGETS[target].baseline == base
        # The door does more than the upstream it forwards to.
        assert (
            cells[(target, "ns-c1")]["server_cpu_us_per_req"]
            > cells[(base, "ns-c1")]["server_cpu_us_per_req"]
        )
    added = {(r["door"], r["workload"]): r for r in figures["added_ms"]}
    assert {(noop, w.key) for w in WORKLOADS} | {(guard, w.key) for w in WORKLOADS} <= set(added)
    first = added[(guard, "ns-c1")]
    assert first["p50_ms"] == pytest.approx(
        cells[(guard, "ns-c1")]["p50_ms"] - cells[(tools, "ns-c1")]["p50_ms"]
    )
    assert (
        first["barred"] and not added[(guard, "ns-c32")]["barred"] and not added[(guard, "st-c1")]["barred"]
    )
    assert f"| {noop}/{upstream} ({door} / its upstream) |" in report
    assert f"| {guard}/{tools} ({door}, tool guard / its upstream, tool calls) |" in report
    assert f"| {noop} − {upstream} ({api}, NoOp) |" in report
    assert f"| {caps} − {upstream} ({api}, AllCaps) |" in report
    assert f"| {guard} − {tools} ({api}, tool guard) |" in report


def test_a_subset_of_targets_and_workloads_runs_alone(tmp_path: Path) -> None:
    """`--targets` and `--workloads` choose what runs; goals whose baseline did not run say n/a."""
    figures, report, _, _ = _quick_bench(tmp_path, "--targets", "J,K", "--workloads", "ns-c1,st-real")
    assert figures["targets"] == ["J", "K"] and figures["workloads"] == ["ns-c1", "st-real"]
    assert figures["total_errors"] == 0
    assert figures["control_planes"] == ["control-plane-J", "control-plane-K"]
    assert {(c["target"], c["workload"]) for c in figures["cells"]} == {
        (t, w) for t in ("J", "K") for w in ("ns-c1", "st-real")
    }
    statuses = {g["name"]: g["status"] for g in figures["goals"]}
    assert statuses["J (NoOp) adds ≤ 0.25 ms to I's p50, non-stream c=1"] == "n/a"
    assert "--workloads ns-c1,st-real" in report and "| stream 20 chunks c=1 |" not in report
