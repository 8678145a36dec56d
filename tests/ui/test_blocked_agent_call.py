"""A coding agent's call whose tool call a policy blocked, as the UI shows it, in the Anthropic
Messages and OpenAI Responses dialects (OpenAI chat: tests/ui/test_call_view.py): the same outcome,
reason and proposed call beside the text the client got instead, as every dialect renders alike."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anthropic
import openai
import pytest

from tests.conftest import OpenServices
from tests.ui.agents import KEY, MODEL, agent_server, expect_blocked_call_view
from tests.ui.browser import BrowserPage

COMMAND = "cat ~/.ssh/id_rsa"
PROMPT = f"run: {COMMAND}"
pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)
#: (address) -> the call id and the text the client got, for one call whose tool call the rules
#: block (streamed for Anthropic).
Ask = Callable[[str], Awaitable[tuple[str, str]]]


async def _claude_code_like(address: str) -> tuple[str, str]:
    client = anthropic.AsyncAnthropic(base_url=f"http://{address}", api_key=KEY, max_retries=0)
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": PROMPT}]
    async with client, client.messages.stream(model=MODEL, max_tokens=64, messages=messages) as stream:
        message = await stream.get_final_message()
        assert message.stop_reason == "end_turn"
        text = "".join(block.text for block in message.content if block.type == "text")
        return stream.response.headers["x-litellm-call-id"], text


async def _codex_like(address: str) -> tuple[str, str]:
    client = openai.AsyncOpenAI(base_url=f"http://{address}/v1", api_key=KEY, max_retries=0)
    async with client:
        raw = await client.responses.with_raw_response.create(model=MODEL, input=PROMPT)
        response = raw.parse()
        assert [item.type for item in response.output] == ["message"]
        return raw.headers["x-litellm-call-id"], response.output_text


@pytest.mark.parametrize(
    ("dialect", "ask"),
    [("anthropic_messages", _claude_code_like), ("openai_responses", _codex_like)],
    ids=["anthropic", "responses"],
)
async def test_a_blocked_tool_call_shows_its_decision_and_the_text_sent_instead(
    open_services: OpenServices, tab: BrowserPage, dialect: str, ask: Ask
) -> None:
    async with agent_server(open_services, tab) as server:
        call_id, client_text = await ask(server.address)
        assert "blocked by a safety rule" in client_text
        view = await server.view(call_id)
        await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))
        await expect_blocked_call_view(tab, COMMAND, client_text)
        await tab.expect(".decision.blocking .tool-call .tool-args").to_contain_text("id_rsa")
    assert view["dialect"] == dialect
    assert view["summary"]["outcome"] == "blocked"
