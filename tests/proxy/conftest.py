"""Fixtures for the LiteLLM callback tests (offline switches are applied by the root conftest).

The real LiteLLM proxy, its demo upstream and the fake control plane are started once for the
package (each proxy takes seconds to start) and shared by the chat, Messages and Responses tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from luthien_proxy.tooling.stack.processes import free_port, start_demo_upstream, stop
from tests.proxy.fake_control_plane import FakeControlPlane, ThreadedServer
from tests.proxy.litellm_proxy import CONFIG, start_proxy


@pytest.fixture(scope="package")
def upstream_url() -> Iterator[str]:
    proc, url = start_demo_upstream()
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="package")
def control_plane() -> Iterator[tuple[FakeControlPlane, str]]:
    fake = FakeControlPlane()
    with ThreadedServer(fake.app, free_port()) as server:
        yield fake, server.url


@pytest.fixture(scope="package")
def proxy_url(
    control_plane: tuple[FakeControlPlane, str], upstream_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    log = tmp_path_factory.mktemp("proxy") / "proxy.log"
    proc, url = start_proxy(CONFIG, control_plane[1], upstream_url, log)
    try:
        yield url
    finally:
        stop(proc)
