"""The index, hook-record and debug pages in a real browser, and their messages when empty or misused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page

from tests.ui.browser import BrowserPage
from tests.ui.conftest import ServeUi, UiServer
from tests.ui.test_live_view import screenshot
from tests.ui.traffic import chunk_stream, plain_call, pre_call

ADMIN_KEY = "ui-test-admin-key"


async def test_empty_state_says_what_to_do(server: UiServer, tab: BrowserPage) -> None:
    await tab.goto(server.url("/ui"))
    await tab.expect().to_have_title("Luthien — recent calls")
    await tab.expect("h1").to_have_text("Recent calls")
    await tab.expect("#empty-calls").to_contain_text("No calls recorded yet")
    await tab.expect("#empty-calls pre").to_contain_text("/api/hooks/async_post_call_success_hook")
    await tab.expect("#empty-traces").to_have_text("No traces recorded yet.")
    await tab.goto(server.url("/debug"))
    await tab.expect("#empty-types").to_contain_text("No debug records yet")


async def test_the_index_lists_calls_and_traces(server: UiServer, tab: BrowserPage) -> None:
    client = server.client
    await plain_call(client, "index-plain", "index-trace-1", "what is a fox?", "A fox is a small canid.")
    await pre_call(client, "index-rejected", "index-trace-2", "something forbidden")
    await pre_call(client, "index-streamed", "index-trace-1", "stream me a story")
    async with chunk_stream(server.address, "index-streamed", "index-trace-1") as stream:
        await stream.send("Once upon ")
        await stream.send("a time.")
        await stream.end()
    await server.settled("index-plain", "index-rejected", "index-streamed")
    listed = (await client.get("/api/hooks/recent_call_ids")).json()["calls"]
    assert [call["call_id"] for call in listed] == ["index-streamed", "index-rejected", "index-plain"]

    await tab.goto(server.url("/ui"))
    rows = "#calls-table tbody tr"
    traces = "#traces-table tbody tr"
    # Newest first, each with the status the API reports.
    await tab.expect(f"{rows} a.call-link").to_have_text([call["call_id"] for call in listed])
    for call in listed:
        badge = f'{rows}[data-call-id="{call["call_id"]}"] .badge'
        await tab.expect(badge).to_have_attribute("data-status", call["status"])
    await tab.expect(f"{traces} a.trace-link").to_have_text(["index-trace-1", "index-trace-2"])
    await tab.expect(f'{traces}[data-trace-id="index-trace-1"] td.num >> nth=0').to_have_text("2")
    if server.backend.name == "embedded":
        await screenshot(tab, "index.png")

    # The links lead to the live view of the call and of its trace.
    await tab.call(lambda p: p.locator(f'{rows}[data-call-id="index-plain"] a.call-link').click())
    await tab.expect("h1").to_have_text("Call index-plain")
    await tab.expect(".response-text[data-side='final']").to_have_text("A cat is a small canid.")
    await tab.call(lambda p: p.go_back())
    await tab.call(lambda p: p.locator(f'{traces}[data-trace-id="index-trace-1"] a.trace-link').click())
    await tab.expect("h1").to_have_text("Trace index-trace-1")
    await tab.expect("section.call").to_have_count(2)


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
        ("/ui/conversation/by_trace", "needs a trace_id query parameter"),
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
    await tab.expect("#calls-table a.call-link").to_have_text(["guarded-call"])
