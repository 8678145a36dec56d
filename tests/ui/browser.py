"""Headless Chromium for the UI tests, driven from its own thread.

The app under test runs in the test's event loop (uvicorn via `serve_app`), so the browser must
not block that loop: Playwright runs in a dedicated thread with its own loop, and tests await
its work through `BrowserThread.run`, which leaves their loop free to serve the page's requests.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    Playwright,
    ViewportSize,
    async_playwright,
    expect,
)

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}


class BrowserThread:
    """One Chromium living in a background event loop; each tab gets its own fresh context.

    Playwright starts Chromium on a new temporary profile (`--user-data-dir`) and removes it at
    exit; a context per tab keeps cookies (such as an admin session) from leaking between tests.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="chromium", daemon=True)
        self._thread.start()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        try:
            self._submit(self._start).result(timeout=60)
        except BaseException:
            self.close()
            raise

    async def _start(self) -> None:
        self._playwright = await async_playwright().start()
        self._browser = await self._playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )

    def _submit(self, work: Callable[[], Awaitable[T]]) -> Future[T]:
        # `work` itself is called in the browser thread: Playwright objects are used only there.
        async def wrapper() -> T:
            return await work()

        return asyncio.run_coroutine_threadsafe(wrapper(), self._loop)

    async def run(self, work: Callable[[], Awaitable[T]]) -> T:
        """Run `work()` in the browser's loop and await its result without blocking the caller's loop."""
        return await asyncio.wrap_future(self._submit(work))

    async def new_page(self) -> BrowserPage:
        """A tab in a fresh context that records dialogs (dismissing them), page errors and console errors."""
        assert self._browser is not None
        browser = self._browser

        async def open_page() -> BrowserPage:
            context = await browser.new_context(viewport=VIEWPORT)
            return BrowserPage(self, await context.new_page())

        return await self.run(open_page)

    def close(self) -> None:
        """Close the browser and stop the thread."""

        async def stop() -> None:
            if self._browser is not None:
                await self._browser.close()
            if self._playwright is not None:
                await self._playwright.stop()

        try:
            self._submit(stop).result(timeout=30)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._loop.close()


class BrowserPage:
    """A tab whose Playwright calls run in the browser thread; `call` is the general entry point."""

    def __init__(self, browser: BrowserThread, page: Page) -> None:
        self.browser = browser
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("console", self._on_console)

    async def _on_dialog(self, dialog: Dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    def _on_console(self, message: ConsoleMessage) -> None:
        # A 404 the page expects (a call not recorded yet) is logged as a failed load: not a bug.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console error: {message.text}")

    async def call(self, work: Callable[[Page], Awaitable[T]]) -> T:
        """Run `work(page)` in the browser thread, e.g. `await tab.call(lambda p: p.title())`."""
        return await self.browser.run(lambda: work(self.page))

    def expect(self, selector: str | None = None) -> RemoteAssertions:
        """Playwright's `expect` on `selector` (the page itself when None), awaited across threads."""
        return RemoteAssertions(self, selector)

    async def goto(self, url: str) -> None:
        """Open `url` and wait until its scripts have loaded."""

        async def go(page: Page) -> Any:
            return await page.goto(url, wait_until="load")

        await self.call(go)

    async def close(self) -> None:
        await self.call(lambda page: page.context.close())


class RemoteAssertions:
    """`await tab.expect("h1").to_have_text("x")`: each assertion runs (and retries) in the browser thread."""

    def __init__(self, tab: BrowserPage, selector: str | None) -> None:
        self._tab = tab
        self._selector = selector

    def __getattr__(self, assertion: str) -> Callable[..., Awaitable[None]]:
        selector = self._tab, self._selector

        async def check(*args: Any, **kwargs: Any) -> None:
            tab, target = selector

            async def run(page: Page) -> None:
                subject = expect(page) if target is None else expect(page.locator(target))
                await getattr(subject, assertion)(*args, **kwargs)

            await tab.call(run)

        return check
