"""Fixtures: a real demo upstream process on a free port."""

from collections.abc import Iterator

import pytest

from luthien_proxy.tooling.stack.processes import start_demo_upstream, stop


@pytest.fixture(scope="module")
def upstream_url() -> Iterator[str]:
    """Base URL (`.../v1`) of a demo upstream started for this module."""
    proc, url = start_demo_upstream(None, "--long-chunks", "7")
    try:
        yield url
    finally:
        stop(proc)
