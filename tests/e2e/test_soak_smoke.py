"""A short soak (the full one is `make soak`): concurrent streams through both doors, no errors,
no stream keys left behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from luthien_proxy.tooling.reliability.soak import run_soak

pytestmark = pytest.mark.e2e


def test_short_soak_through_both_doors(tmp_path: Path) -> None:
    report = tmp_path / "soak.md"
    code = run_soak(streams=10, seconds=4, doors=["litellm", "native"], output=report)
    text = report.read_text()
    assert code == 0, text
    assert "Stream-context keys left after the run: 0." in text
    rows = [line for line in text.splitlines() if line.startswith(("| litellm", "| native"))]
    assert len(rows) == 2 and all(" | 0 | " in row for row in rows), text
