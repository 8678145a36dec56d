"""UI test fixtures: one headless Chromium per session, a tab per test, the app with the UI served."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from luthien_proxy import ui
from luthien_proxy.control_plane import ControlPlaneServices, create_app
from tests.conftest import REQUIRE_SERVICES, Backend, OpenServices
from tests.support.live_server import serve_app
from tests.ui.browser import CHROMIUM, BrowserPage, BrowserThread
from tests.ui.traffic import UiTestPolicy

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserThread]:
    """Headless Chromium with a fresh profile; fails under CI (skips locally) when it is not installed."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found; install Debian's chromium package to run the UI tests"
        if REQUIRE_SERVICES or os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    thread = BrowserThread(tmp_path_factory.mktemp("chromium-profile"))
    yield thread
    thread.close()


@pytest.fixture
async def tab(browser: BrowserThread) -> AsyncIterator[BrowserPage]:
    """A fresh tab; the test fails if the page raised a script error or a dialog opened."""
    page = await browser.new_page()
    yield page
    await page.close()
    assert page.dialogs == [], f"dialogs opened: {page.dialogs}"
    assert page.errors == [], f"the page logged errors: {page.errors}"


@dataclass(frozen=True)
class UiServer:
    """The control plane with the UI, served on a real port."""

    address: str
    services: ControlPlaneServices
    client: httpx.AsyncClient
    backend: Backend

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    async def flush(self) -> None:
        """Wait until every queued debug record is written, so snapshot APIs see it."""
        await self.services.writer.flush()


def app_with_ui(services: ControlPlaneServices) -> FastAPI:
    """The control-plane app with the UI router (added here until `create_app` includes it)."""
    app = create_app(services.settings, services)
    if not any(getattr(route, "path", None) == "/ui" for route in app.routes):
        app.include_router(ui.router)
    return app


ServeUi = Callable[..., AbstractAsyncContextManager[UiServer]]


@pytest.fixture
def serve_ui(open_services: OpenServices, backend: Backend) -> ServeUi:
    """Serve the app on `backend` with `UiTestPolicy` (AllCaps streams, word swaps, rejections);
    keyword arguments override settings."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[UiServer]:
        services = await open_services(UiTestPolicy(), **{"sse_heartbeat_seconds": 1.0, **overrides})
        async with (
            serve_app(app_with_ui(services)) as address,
            httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
        ):
            yield UiServer(address, services, client, backend)

    return start


@pytest.fixture
async def server(serve_ui: ServeUi) -> AsyncIterator[UiServer]:
    """The app with the UI and default settings."""
    async with serve_ui() as started:
        yield started
