"""The suite's self-guards as one autouse fixture: no non-loopback traffic, no blocked event loop."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import loopguard, netguard


def install() -> None:
    """Patch the socket module and asyncio's callback runner for the whole test process."""
    netguard.install()
    loopguard.install()


@pytest.fixture(autouse=True)
def suite_guards() -> Iterator[None]:
    """Fail the test (at teardown) if anything refused a non-loopback address or blocked a loop."""
    yield
    problems = netguard.take_violations() + loopguard.take_violations()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)
