"""Run the `luthien` CLI's main in the test's process as a new process would run it (a subprocess
costs seconds of imports): its environment, working directory and stderr logging."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import pytest


def as_a_fresh_process(monkeypatch: pytest.MonkeyPatch, cwd: Path, env: Mapping[str, str]) -> None:
    """`env` set and `cwd` current for the rest of the test; the root logger without handlers, so the
    CLI's `logging.basicConfig` sends its log lines to (captured) stderr as in a new process."""
    monkeypatch.chdir(cwd)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(logging.root, "handlers", [])
    monkeypatch.setattr(logging.root, "level", logging.root.level)
