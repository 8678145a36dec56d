"""Stacks shared by several modules (each `luthien up` takes seconds): the real coding-agent CLIs'
`luthien up --demo --policy config/tool_guard.yaml`, as the README tells a user to run it (one start
for every agent and door), and the LiteLLM door's dialect tests' policing and NoOp stacks."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from luthien_proxy.tooling.stack.running import Stack, luthien_up
from tests.e2e.stack import POLICING, REPO
from tests.e2e.stack import luthien_up as luthien_up_named


@pytest.fixture(scope="session")
def tool_guard_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("tool-guard")
    with luthien_up(
        workdir, REPO / "config" / "tool_guard.yaml", REPO / "config" / "litellm_config.yaml"
    ) as up:
        yield up


@pytest.fixture(scope="package")
def policing_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A tool-call rule, then AllCaps (`POLICING`): the Messages and Responses tests' stack."""
    workdir = tmp_path_factory.mktemp("policing")
    policy = workdir / "policy.yaml"
    policy.write_text(POLICING)
    with luthien_up(workdir, policy, REPO / "config" / "litellm_config.yaml") as running:
        yield running


@pytest.fixture(scope="package")
def noop_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """NoOp: every hook reported over the proxy link, every stream relayed."""
    with luthien_up_named(tmp_path_factory.mktemp("noop"), policy="luthien_config.yaml") as running:
        yield running
