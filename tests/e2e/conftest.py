"""A stack shared by the real coding-agent CLIs' tests: `luthien up --demo --policy
config/tool_guard.yaml`, as the README tells a user to run it (one start for every agent and door)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from luthien_proxy.tooling.stack.running import Stack, luthien_up
from tests.e2e.stack import REPO


@pytest.fixture(scope="session")
def tool_guard_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("tool-guard")
    with luthien_up(
        workdir, REPO / "config" / "tool_guard.yaml", REPO / "config" / "litellm_config.yaml"
    ) as up:
        yield up
