"""A real call's session, live: the openai SDK streams through the LiteLLM proxy that
`luthien up --demo` started, and the session page opened before it shows the model's text beside
the policed text the client got."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.e2e.stack import RunningStack, luthien_up
from tests.ui.browser import BrowserPage

pytestmark = pytest.mark.e2e

FINAL_TEXT = '.session-change [data-side="final"] .parts'
ORIGINAL_TEXT = '.session-change [data-side="original"] .parts'


@pytest.fixture(scope="module")
def caps_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with luthien_up(tmp_path_factory.mktemp("ui-stack"), policy="all_caps.yaml") as stack:
        yield stack


async def test_stream_through_litellm_appears_in_its_session(
    caps_stack: RunningStack, tab: BrowserPage
) -> None:
    trace_id = f"ui-litellm-{uuid.uuid4().hex[:8]}"
    await tab.goto(f"{caps_stack.control_plane_url}/ui/session?trace_id={trace_id}")
    await tab.expect("#connection").to_have_text("live")

    async with caps_stack.async_client() as client:
        raw = await client.chat.completions.with_raw_response.create(
            model="demo-echo",
            messages=[{"role": "user", "content": "watch <b>this</b> stream arrive"}],
            stream=True,
            extra_headers={"x-litellm-trace-id": trace_id},
        )
        call_id = raw.headers["x-litellm-call-id"]
        pieces = [chunk.choices[0].delta.content or "" async for chunk in raw.parse() if chunk.choices]
    text = "".join(pieces)
    assert text == "YOU SAID: WATCH <B>THIS</B> STREAM ARRIVE"

    panel = f'li.session-call[data-call-id="{call_id}"]'
    await tab.expect(f"{panel} {FINAL_TEXT}").to_have_text(text)
    await tab.expect(f"{panel} {ORIGINAL_TEXT}").to_have_text("You said: watch <b>this</b> stream arrive")
    assert len([piece for piece in pieces if piece]) >= 4
    await tab.expect("main b").to_have_count(0)  # the model's markup is shown as text, never rendered

    await tab.goto(f"{caps_stack.control_plane_url}/ui")
    await tab.expect(f'#calls-table tbody tr[data-call-id="{call_id}"]').to_have_count(1)
