"""The calls index (/ui) in a real browser, with real calls through the native door: rows appear
and change as calls start and end, with the API's outcome words; filters, the search box and
paging in the URL."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Page

from tests.conftest import OpenServices
from tests.support.native_traffic import (
    BLOCKED,
    BLOCKED_COMMAND,
    MODIFIED,
    PASSED,
    REJECTED,
    NativeDoor,
    native_door,
)
from tests.ui.browser import BrowserPage
from tests.ui.test_live_view import screenshot
from tests.ui.traffic import chunk_stream, pre_call

pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)
ROWS = "#calls-table tbody tr"


def row(call_id: str) -> str:
    return f'{ROWS}[data-call-id="{call_id}"]'


@pytest.fixture
async def door(open_services: OpenServices) -> AsyncIterator[NativeDoor]:
    async with native_door(open_services, sse_heartbeat_seconds=1.0) as started:
        yield started


async def test_calls_appear_without_a_reload_with_the_apis_outcome_and_decision(
    door: NativeDoor, tab: BrowserPage
) -> None:
    await tab.goto(door.url("/ui"))
    await tab.expect("#connection").to_have_text("live")
    await tab.expect("#empty-calls").to_contain_text("luthien up --demo")
    await tab.expect("#empty-calls pre").to_contain_text(f"curl -s {door.url('/v1/chat/completions')}")

    # A started call is a running row on top; its summary replaces it when it ends.
    await pre_call(door.client, "streamed-call", "agent-session", "stream me a story")
    async with chunk_stream(door.address, "streamed-call", "agent-session") as stream:
        await tab.expect(f"{row('streamed-call')} .outcome .badge").to_have_text("in progress")
        await tab.expect(f"{row('streamed-call')} td.latency").to_have_text("…")
        await stream.send("Once upon a time")
        await stream.end()
    await tab.expect(f"{row('streamed-call')} .outcome .badge").to_have_text("modified")
    passed = await door.ask(PASSED, trace_id="agent-session")
    rejected = await door.ask(REJECTED, trace_id="agent-session")
    blocked = await door.ask(BLOCKED, trace_id="agent-session")

    listed = await door.listed(passed, rejected, blocked, "streamed-call")
    await tab.expect(f"{ROWS} .outcome .badge").to_have_text([call["outcome_label"] for call in listed])
    await tab.expect(f"{ROWS} >> nth=0").to_have_attribute("data-call-id", blocked)
    api = {call["call_id"]: call for call in listed}
    assert [api[c]["outcome"] for c in (passed, rejected, blocked)] == ["passed", "rejected", "blocked"]

    stopped = row(blocked)
    # Model text is shown as text: the command's <img> tag is in the words, never in the page.
    await tab.expect(f"{stopped} td.call-decision").to_contain_text(f"blocked Bash: {BLOCKED_COMMAND}")
    await tab.expect(f"{stopped} td.call-decision").to_contain_text("touches ~/.ssh")
    await tab.expect("main img").to_have_count(0)
    await tab.expect(f"{stopped} td.door").to_have_text("native · OpenAI chat")
    await tab.expect(f"{stopped} td.model").to_have_text("demo-agent")
    await tab.expect(f"{stopped} td.key").to_have_text("—")
    # The policy the call ran on, its version (a hash of its YAML) and the rule that chose it.
    await tab.expect(f"{stopped} td.policy").to_have_text(f"ChainPolicy @{api[blocked]['policy_version']}")
    await tab.expect(f"{stopped} td.policy .policy-name").to_have_attribute("data-rule", "default")
    latency = math.floor(api[blocked]["latency_ms"] + 0.5)  # rounded as JavaScript rounds
    await tab.expect(f"{stopped} td.latency").to_have_text(f"{latency} ms")
    await tab.expect(f"{stopped} .preview-request").to_have_attribute("title", BLOCKED)
    await tab.expect(f"{stopped} .preview-response").to_contain_text("blocked by a safety rule")
    await tab.expect(f"{row(rejected)} td.call-decision").to_contain_text("prompt mentions a forbidden topic")
    await tab.expect(f"{row('streamed-call')} td.door").to_have_text("LiteLLM · OpenAI chat")
    session_link = "/ui/session?trace_id=agent-session"
    await tab.expect(f"{stopped} a.trace-link").to_have_attribute("href", session_link)
    # The sessions list follows too.
    await tab.expect('#traces-table tr[data-trace-id="agent-session"] td.num').to_have_text("4")
    await screenshot(tab, "index.png")

    # A click anywhere on a row opens the call.
    await tab.call(lambda p: p.locator(f"{stopped} td.call-decision").click())
    await tab.expect().to_have_url(door.url(f"/ui/conversation?call_id={blocked}"))
    await tab.expect(".call-head .facts").to_contain_text("policyChainPolicy @")
    await tab.goto("about:blank")  # close the page's live stream before the server stops


async def test_filters_and_the_paging_cursor_are_in_the_url(door: NativeDoor, tab: BrowserPage) -> None:
    oldest = await door.ask(PASSED, model="demo-echo")
    modified = await door.ask(MODIFIED, trace_id="filtered-session")
    blocked = await door.ask(BLOCKED, trace_id="filtered-session")
    newest = await door.ask(PASSED)
    await door.listed(oldest, modified, blocked, newest)
    ids = "#calls-table tbody tr"

    async def shown() -> list[Any]:
        return await tab.call(lambda p: p.locator(ids).evaluate_all("rs => rs.map(r => r.dataset.callId)"))

    # The live stream refused (as a busy server does): the listing still loads, the indicator says
    # so, and the page connects again.
    stream = "**/api/calls/stream"
    await tab.call(lambda p: p.route(stream, lambda route: route.fulfill(status=429, body="busy")))
    # Two a page; "Older" carries the cursor in the URL, so the page reloads as it was.
    await tab.goto(door.url("/ui?limit=2"))
    await tab.expect("#connection").to_have_text("disconnected, retrying in 1 s")
    await tab.expect(ids).to_have_count(2)
    assert await shown() == [newest, blocked]
    await tab.call(lambda p: p.unroute(stream))
    await tab.expect("#connection").to_have_text("live", timeout=10_000)
    await tab.call(lambda p: p.locator("nav.pager a.older").click())
    await tab.expect().to_have_url(door.url(f"/ui?limit=2&before={await _next_cursor(door, 2)}"))
    await tab.expect(f"{ids} >> nth=1").to_have_attribute("data-call-id", oldest)
    assert await shown() == [modified, oldest]
    await tab.expect("#connection").to_have_text("paused (an older page)")
    await tab.call(lambda p: p.reload())
    await tab.expect(f"{ids} >> nth=1").to_have_attribute("data-call-id", oldest)
    await tab.call(lambda p: p.locator("nav.pager a.older").click())
    await tab.expect(".notice").to_contain_text("No older calls.")
    await tab.call(lambda p: p.locator("nav.pager a.newest").click())
    await tab.expect().to_have_url(door.url("/ui?limit=2"))

    # The outcome filter narrows the table, is in the URL, and holds for live calls too.
    await tab.goto(door.url("/ui"))
    await tab.expect("#filter-outcome option[value=held]").to_have_text("held for audit")

    async def choose(page: Page) -> None:
        await page.select_option("#filter-outcome", "blocked")

    await tab.call(choose)
    await tab.expect().to_have_url(door.url("/ui?outcome=blocked"))
    await tab.expect(ids).to_have_count(1)
    await tab.expect(row(blocked)).to_have_count(1)
    await tab.expect("#connection").to_have_text("live")
    await door.ask(PASSED)  # not blocked: not shown
    blocked_again = await door.ask(BLOCKED)
    await tab.expect(row(blocked_again)).to_have_count(1)
    assert await shown() == [blocked_again, blocked]
    await tab.call(lambda p: p.reload())
    await tab.expect("#filter-outcome").to_have_value("blocked")
    await tab.expect(ids).to_have_count(2)

    # Model and trace filters, typed in and sent with Enter; nothing matching says so.
    async def filter_model(page: Page) -> None:
        await page.fill("#filter-model", "demo-echo")
        await page.press("#filter-model", "Enter")

    await tab.call(filter_model)
    await tab.expect().to_have_url(door.url("/ui?outcome=blocked&model=demo-echo"))
    await tab.expect(".notice").to_contain_text("No calls match these filters.")
    await tab.goto(door.url("/ui?model=demo-echo"))
    await tab.expect(ids).to_have_count(1)
    await tab.expect(row(oldest)).to_have_count(1)
    await tab.goto(door.url("/ui?trace_id=filtered-session"))
    await tab.expect("#filter-trace_id").to_have_value("filtered-session")
    await tab.expect(ids).to_have_count(2)
    assert await shown() == [blocked, modified]
    await tab.call(lambda p: p.locator("#filters a.clear").click())
    await tab.expect(ids).to_have_count(6)

    # The search box: words in the previews and decisions, any case, in the URL; export follows it.
    async def search(page: Page) -> None:
        await page.fill("#filter-q", "SSH")
        await page.press("#filter-q", "Enter")

    await tab.call(search)
    await tab.expect().to_have_url(door.url("/ui?q=SSH"))
    await tab.expect(ids).to_have_count(2)
    assert await shown() == [blocked_again, blocked]
    await tab.expect("#export-jsonl").to_have_attribute("href", "/api/calls/export?format=jsonl&q=SSH")
    await tab.goto("about:blank")


async def _next_cursor(door: NativeDoor, limit: int) -> int:
    return (await door.client.get("/api/calls", params={"limit": limit})).json()["next"]
