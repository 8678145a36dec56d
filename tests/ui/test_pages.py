"""The hook-record and debug pages in a real browser, their messages when empty or misused, and the
pages behind an admin key. The calls index has its own tests (test_index.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page

from tests.ui.browser import BrowserPage
from tests.ui.conftest import ServeUi, UiServer
from tests.ui.traffic import plain_call, pre_call

ADMIN_KEY = "ui-test-admin-key"


async def test_the_debug_page_says_when_nothing_is_recorded(server: UiServer, tab: BrowserPage) -> None:
    await tab.goto(server.url("/debug"))
    await tab.expect("#empty-types").to_contain_text("No debug records yet")


async def test_the_hook_trace_shows_records_in_order_with_offsets(server: UiServer, tab: BrowserPage) -> None:
    await plain_call(server.client, "hooks-call", "hooks-trace", "hello", "hello fox")
    await server.flush()
    found = await server.client.get("/api/hooks/trace_by_call_id", params={"call_id": "hooks-call"})
    types = [entry["debug_type_identifier"] for entry in found.json()["entries"]]

    await tab.goto(server.url("/ui/hooks/trace?call_id=hooks-call"))
    await tab.expect().to_have_title("Luthien — hook records of hooks-call")
    await tab.expect("#hook-records .type").to_have_text(types)
    await tab.expect("#hook-records .offset >> nth=0").to_have_text("+0 ms")
    await tab.expect("#hook-records pre.json >> nth=0").to_contain_text('"litellm_call_id": "hooks-call"')
    session = "/ui/session?trace_id=hooks-trace"
    await tab.expect("main a[href^='/ui/session']").to_have_attribute("href", session)

    await tab.goto(server.url("/ui/hooks/trace?call_id=no-such-call"))
    await tab.expect(".notice").to_contain_text("No hook records for call no-such-call")


async def test_debug_pages_list_types_and_page_through_records(server: UiServer, tab: BrowserPage) -> None:
    for n in range(12):
        await pre_call(server.client, f"page-call-{n:02d}", "page-trace", f"question {n}")
    await server.flush()
    debug_type = "hook_result:async_pre_call_hook"
    info = "nav.pager .page-info >> nth=0"
    records = "#debug-records li.record"

    await tab.goto(server.url("/debug"))
    await tab.expect().to_have_title("Luthien — debug records")
    row = f'#types-table tr[data-type="{debug_type}"]'
    await tab.expect(f"{row} td.num").to_have_text("12")
    await tab.call(lambda p: p.locator(f"{row} a.type-link").click())
    await tab.expect("h1").to_have_text(f"Debug records: {debug_type}")

    await tab.goto(server.url(f"/debug/{debug_type}?page_size=5"))
    await tab.expect(info).to_have_text("page 1 of 3 · 12 records")
    await tab.expect(records).to_have_count(5)
    # Newest first, pretty-printed.
    await tab.expect(f"{records} pre.json >> nth=0").to_contain_text('"litellm_call_id": "page-call-11"')
    await tab.call(lambda p: p.locator("nav.pager a.next >> nth=0").click())
    await tab.expect(info).to_have_text("page 2 of 3 · 12 records")
    await tab.expect().to_have_url(server.url("/debug/hook_result%3Aasync_pre_call_hook?page=2&page_size=5"))
    await tab.call(lambda p: p.locator("nav.pager a.last >> nth=0").click())
    await tab.expect(records).to_have_count(2)
    await tab.expect("nav.pager .next >> nth=0").to_have_class("next disabled")
    await tab.call(lambda p: p.go_back())
    await tab.expect(info).to_have_text("page 2 of 3 · 12 records")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/ui/conversation", "needs a call_id query parameter"),
        ("/ui/session", "needs a trace_id query parameter"),
        ("/ui/hooks/trace", "needs a call_id query parameter"),
    ],
)
async def test_a_page_without_its_parameter_says_so(
    ui_only: str, tab: BrowserPage, path: str, message: str
) -> None:
    await tab.goto(ui_only + path)
    await tab.expect(".notice-warn").to_contain_text(message)


@pytest.fixture
async def guarded_server(serve_ui: ServeUi) -> AsyncIterator[UiServer]:
    """A server whose reads, live streams and pages need the admin key."""
    async with serve_ui(admin_key=ADMIN_KEY) as started:
        yield started


async def test_with_an_admin_key_the_pages_work_after_logging_in(
    guarded_server: UiServer, tab: BrowserPage
) -> None:
    server = guarded_server
    await plain_call(server.client, "guarded-call", "guarded-trace", "hello", "a fox")
    await server.flush()

    await tab.goto(server.url("/ui/conversation?call_id=guarded-call"))
    await tab.expect().to_have_title("Luthien — log in")

    async def log_in(page: Page) -> None:
        await page.fill("input[name=key]", ADMIN_KEY)
        await page.click("button[type=submit]")

    await tab.call(log_in)
    # Back on the page asked for, whose API calls and live stream carry the session cookie.
    await tab.expect(".response-text[data-side='final']").to_have_text("a cat")
    await tab.expect("#connection").to_have_text("live")
    await tab.goto(server.url("/ui"))
    await tab.expect('#calls-table tbody tr[data-call-id="guarded-call"]').to_have_count(1)
    await tab.expect("#connection").to_have_text("live")
