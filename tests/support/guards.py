"""The suite's self-guards as one autouse fixture: no non-loopback traffic."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import netguard


def install() -> None:
    """Patch the socket module for the whole test process."""
    netguard.install()


@pytest.fixture(autouse=True)
def suite_guards() -> Iterator[None]:
    """Fail the test (at teardown) if anything refused a non-loopback address."""
    yield
    problems = netguard.take_violations()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
