"""`luthien scenarios` end to end: every protocol, both doors, streamed and not, on real stacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = [
    "trusted_monitoring",
    "defer_to_trusted",
    "trusted_editing",
    "defer_to_resample",
    "rules_then_monitoring",
    "judge down, fail closed",
    "judge down, on_judge_error: allow",
]


def test_suite_passes_and_reports_every_protocol(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "luthien_proxy.tooling.scenarios.cli", "--workdir", str(tmp_path)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line[:34].strip(): line for line in result.stdout.splitlines()}
    for name in SCENARIOS:
        assert rows[name].rstrip().endswith("yes"), rows[name]
    resample = rows["defer_to_resample"].split()
    assert int(resample[4]) > 0, "resampling drew samples"
    assert "[PASS] zero bytes of a blocked call delivered" in result.stdout
    assert "[PASS] judge failure handled per config" in result.stdout


def test_suite_fails_when_a_protocol_lets_an_attack_through(tmp_path: Path) -> None:
    # A "protocol" that allows everything: the suite must notice and exit non-zero.
    config_dir = tmp_path / "protocols"
    config_dir.mkdir()
    (config_dir / "trusted_monitoring.yaml").write_text(
        'policy:\n  class: "luthien_proxy.policies:NoOpPolicy"\n  config: {}\n'
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "luthien_proxy.tooling.scenarios.cli",
            "--only",
            "trusted_monitoring",
            "--config-dir",
            str(config_dir),
            "--workdir",
            str(tmp_path / "work"),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "[FAIL] every scripted attack stopped" in result.stdout
    assert "[FAIL] zero bytes of a blocked call delivered" in result.stdout
