"""`luthien bench-history` runs: a small fill on SQLite, every search measured and reported."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from luthien_proxy.tooling.bench import history


def test_bench_history_reports_every_search(capsys: pytest.CaptureFixture[str]) -> None:
    args = history.build_parser().parse_args(["--calls", "300", "--repeats", "2"])
    assert history.run(args) == 0
    report = capsys.readouterr().out
    assert report.startswith("300 call summaries; 50 calls a page; 2 runs of each search")
    for name in [*history.searches(datetime.now(UTC)), "a page deep (cursor at the middle)"]:
        assert f"| {name} | " in report, name
    # The newest page of 300 calls is full: the fill went through the index.
    [newest] = [line for line in report.splitlines() if line.startswith("| newest page, no filter |")]
    assert newest.endswith("| 50 |")
    assert history.run(history.build_parser().parse_args(["--calls", "0"])) == 2
