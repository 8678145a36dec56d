"""The live view in a real browser: chunks appear while they stream, diffs, rejections, escaping."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from playwright.async_api import Page

from tests.ui.browser import BrowserPage
from tests.ui.conftest import SCREENSHOTS, ServeUi, UiServer
from tests.ui.traffic import REJECTION_MESSAGE, chunk_stream, plain_call, pre_call

WORDS = ["The ", "quick ", "brown ", "fox ", "jumps ", "over ", "the ", "lazy ", "dog."]
FINAL_CHUNKS = '.chunk-list[data-side="final"] .chunk'
FINAL_TEXT = '.response-text[data-side="final"]'
ORIGINAL_TEXT = '.response-text[data-side="original"]'
OUTCOME = "section.call .badges .badge[data-outcome]"
UNESCAPED = "main script, main img, main b"


async def screenshot(tab: BrowserPage, name: str) -> None:
    """Save the whole page under docs/screenshots (the README's pictures come from the test run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    async def take(page: Page) -> None:
        await page.screenshot(path=str(SCREENSHOTS / name), full_page=True, animations="disabled")

    await tab.call(take)


async def test_chunks_appear_while_the_stream_runs(server: UiServer, tab: BrowserPage) -> None:
    call_id, trace_id = "live-call-1", "live-trace-1"
    await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))
    await tab.expect("#connection").to_have_text("live")
    await tab.expect("#snapshot-note").to_contain_text("Nothing recorded")

    started = await pre_call(server.client, call_id, trace_id, "Tell me about the quick brown fox")
    assert started.status_code == 200
    async with chunk_stream(server.address, call_id, trace_id) as stream:
        for word in WORDS[:2]:
            await stream.send(word)
        # The stream is still open: the page must already show what has been policed so far.
        await tab.expect(FINAL_CHUNKS).to_have_text(["THE ", "QUICK "])
        await tab.expect(OUTCOME).to_have_text("in progress")
        await tab.expect(".request .message .content").to_have_text("Tell me about the quick brown fox")
        for word in WORDS[2:]:
            await stream.send(word)
        result = await stream.end()

    assert result.end == {"type": "END"}
    assert result.text == "".join(WORDS).upper()
    await tab.expect(OUTCOME).to_have_text("modified")
    await tab.expect(FINAL_TEXT).to_have_text("".join(WORDS).upper())
    await tab.expect(ORIGINAL_TEXT).to_have_text("".join(WORDS))
    await tab.expect(FINAL_CHUNKS).to_have_count(len(WORDS))
    await tab.expect("#snapshot-note").to_be_empty()
    # The trace leads to its session's timeline, the head to the call's hook records.
    await tab.expect(".call-head .facts a").to_have_attribute("href", f"/ui/session?trace_id={trace_id}")
    hooks = f"/ui/hooks/trace?call_id={call_id}"
    await tab.expect(".call-head a.link-hooks").to_have_attribute("href", hooks)
    if server.backend.name == "embedded":
        await screenshot(tab, "live-view.png")


async def test_original_and_final_side_by_side_with_the_diff_highlighted(
    server: UiServer, tab: BrowserPage
) -> None:
    call_id = "diff-call-1"
    answer = "The quick brown fox jumps."
    response = await plain_call(server.client, call_id, "diff-trace", "my password is hunter2", answer)
    assert response.status_code == 200
    await server.flush()
    await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))

    await tab.expect(OUTCOME).to_have_text("modified")
    await tab.expect(ORIGINAL_TEXT).to_have_text(answer)
    await tab.expect(FINAL_TEXT).to_have_text("The quick brown cat jumps.")
    await tab.expect(f"{ORIGINAL_TEXT} del.diff-del").to_have_text(["fox"])
    await tab.expect(f"{FINAL_TEXT} ins.diff-ins").to_have_text(["cat"])
    # The request the policy rewrote: both versions, the changed message marked on each side.
    await tab.expect(".request .column-original .message.changed .content").to_have_text(
        "my password is hunter2"
    )
    await tab.expect(".request .column-final .message.changed .content").to_have_text(
        "my password is [redacted]"
    )
    await tab.expect(".request .column-final h4").to_contain_text("changed by policy")


async def test_a_rejected_call_is_clearly_marked(server: UiServer, tab: BrowserPage) -> None:
    call_id = "rejected-call-1"
    refused = await pre_call(server.client, call_id, "rejected-trace", "tell me something forbidden")
    assert refused.status_code == 403
    await server.flush()
    await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))

    await tab.expect(OUTCOME).to_have_text("rejected")
    await tab.expect("section.call").to_have_attribute("data-status", "rejected")
    await tab.expect(".banner-blocked").to_have_text(
        f"Policy decision (HTTP 403): rejected: {REJECTION_MESSAGE}"
    )
    await tab.expect(".blocked-note").to_contain_text("Nothing was sent to the client")
    await tab.expect(".decision.blocking").to_contain_text(REJECTION_MESSAGE)


async def test_model_text_is_shown_as_text_never_run(server: UiServer, tab: BrowserPage) -> None:
    call_id = "xss-call-1"
    payload = '<script>alert(1)</script><img src=x onerror="alert(2)"> & <b>bold</b>'
    await plain_call(server.client, call_id, "xss-trace", f"say {payload}", payload)
    await server.flush()

    await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))
    await tab.expect(FINAL_TEXT).to_have_text(payload)
    await tab.expect(".request .message .content").to_have_text(f"say {payload}")
    await tab.expect(UNESCAPED).to_have_count(0)

    # The same text in the pages showing raw records: JSON as text, nothing run.
    await tab.goto(server.url(f"/ui/hooks/trace?call_id={call_id}"))
    await tab.expect("#hook-records").to_contain_text("<script>alert(1)</script>")
    await tab.expect(UNESCAPED).to_have_count(0)
    await tab.goto(server.url("/debug/hook_result:async_post_call_success_hook"))
    await tab.expect("#debug-records").to_contain_text("<script>alert(1)</script>")
    await tab.expect(UNESCAPED).to_have_count(0)
    assert tab.dialogs == []


async def test_a_failed_stream_is_marked_with_its_error(server: UiServer, tab: BrowserPage) -> None:
    call_id, trace_id = "failed-call-1", "failed-trace"
    await pre_call(server.client, call_id, trace_id, "tell me a story")
    await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))
    await tab.expect("#connection").to_have_text("live")
    async with chunk_stream(server.address, call_id, trace_id) as stream:
        await stream.send("Once ")
        await tab.expect(FINAL_CHUNKS).to_have_text(["ONCE "])
        result = await stream.fail("upstream exploded")
    assert result.end is not None and result.end["type"] == "ERROR"

    await tab.expect(OUTCOME).to_have_attribute("data-outcome", "upstream_error")
    await tab.expect(OUTCOME).to_have_class("badge badge-bad outcome")
    await tab.expect(".banner-error").to_contain_text("Call ended with upstream_error")
    await tab.expect(".banner-error").to_contain_text("upstream exploded")
    # Reloaded from the snapshot alone, the page tells the same story.
    await server.settled(call_id)
    await tab.call(lambda p: p.reload())
    await tab.expect(OUTCOME).to_have_attribute("data-outcome", "upstream_error")
    await tab.expect(".banner-error").to_contain_text("upstream exploded")
    await tab.expect(FINAL_TEXT).to_have_text("ONCE ")


@pytest.fixture
async def limited_server(serve_ui: ServeUi) -> AsyncIterator[UiServer]:
    """A server allowing one open live stream per client."""
    # A fixture, not a block in the test: it must outlive the tab, whose open stream the server's
    # shutdown waits for.
    async with serve_ui(sse_max_streams_per_client=1) as started:
        yield started


async def test_a_rate_limited_live_view_retries_until_it_is_live(
    limited_server: UiServer, tab: BrowserPage
) -> None:
    server, call_id = limited_server, "limited-call-1"
    # Hold the only slot, so the page's subscriptions are refused with 429 until it is let go.
    async with server.client.stream("GET", f"/api/hooks/conversation/stream?call_id={call_id}") as taken:
        assert taken.status_code == 200
        await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))
        await tab.expect("#connection").to_have_attribute("data-state", "retrying")
    await tab.expect("#connection").to_have_text("live", timeout=10_000)
    await plain_call(server.client, call_id, "limited-trace", "hello", "a fox")
    await tab.expect(FINAL_TEXT).to_have_text("a cat")
    # Chromium reports the refused EventSource on the console; that refusal is this test's point.
    tab.errors[:] = [error for error in tab.errors if "429" not in error]
