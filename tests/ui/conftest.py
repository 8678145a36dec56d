"""UI test fixtures: one headless Chromium per session, a tab per test, the app with the UI served."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.read import ui
from tests.conftest import REQUIRE_SERVICES, Backend, OpenServices
from tests.support.live_server import serve_app
from tests.ui.browser import CHROMIUM, BrowserPage, BrowserThread
from tests.ui.traffic import UiTestPolicy

UNFINISHED = ("pending", "started", "streaming")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[BrowserThread]:
    """Headless Chromium with a fresh profile; fails under CI (skips locally) when it is not installed."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} not found; install Debian's chromium package to run the UI tests"
        if REQUIRE_SERVICES:  # LUTHIEN_REQUIRE_SERVICES=1 or CI=true
            pytest.fail(message)
        pytest.skip(message)
    thread = BrowserThread()
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

    async def settled(self, *call_ids: str, timeout: float = 5.0) -> None:
        """Wait until the snapshot API reports each call finished (a stream's summary is recorded
        just after its END frame is sent, so the test can be ahead of it)."""
        deadline = asyncio.get_running_loop().time() + timeout
        for call_id in call_ids:
            while True:
                await self.flush()
                found = await self.client.get("/api/hooks/conversation", params={"call_id": call_id})
                if found.status_code == 200 and found.json()["call"]["status"] not in UNFINISHED:
                    break
                assert asyncio.get_running_loop().time() < deadline, f"{call_id} did not finish: {found.text}"
                await asyncio.sleep(0.02)


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


@pytest.fixture
async def ui_only() -> AsyncIterator[str]:
    """Only the UI router on a real port (no backends: for what needs the pages and scripts alone);
    yields the base URL."""
    app = FastAPI()
    app.include_router(ui.router)
    async with serve_app(app) as address:
        yield f"http://{address}"
