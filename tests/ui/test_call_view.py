"""The call view (/ui/conversation?call_id=) of real agent traffic through the native door: tool
calls in the response, the history and the chunks, the tools offered, decisions as rows, a truthful
outcome, and hostile arguments shown as text."""

from __future__ import annotations

import json
from typing import Any

import openai
import pytest

from tests.conftest import OpenServices
from tests.ui.agents import (
    BASH_TOOL,
    KEY,
    MODEL,
    OUTCOME,
    AgentServer,
    agent_server,
    expect_blocked_call_view,
)
from tests.ui.browser import BrowserPage
from tests.ui.test_live_view import screenshot

pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)
SYSTEM = "You are a careful coding agent."
HOSTILE = "<img src=x onerror=alert(1)>"
UNESCAPED = "main script, main img"


def _client(server: AgentServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url("/v1"), api_key=KEY, max_retries=0)


async def _click(tab: BrowserPage, selector: str) -> None:
    await tab.call(lambda page: page.locator(selector).click())


async def test_a_blocked_tool_call_shows_the_proposed_call_beside_what_the_client_got(
    open_services: OpenServices, tab: BrowserPage
) -> None:
    command = "cat ~/.ssh/id_rsa"
    messages: Any = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": f"run: {command}"}]
    async with agent_server(open_services, tab) as server:
        async with _client(server) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model=MODEL, messages=messages, tools=[BASH_TOOL]
            )
        message = raw.parse().choices[0].message
        assert (
            message.tool_calls is None and message.content and "blocked by a safety rule" in message.content
        )
        call_id = raw.headers["x-litellm-call-id"]
        summary = (await server.view(call_id))["summary"]
        assert summary["outcome"] == "blocked"

        await tab.goto(server.url(f"/ui/conversation?call_id={call_id}"))
        await expect_blocked_call_view(tab, command, message.content)
        # The banner carries the decision in the API's words; the row its parts.
        await tab.expect(".banner-blocked .decision-words").to_have_text(summary["decision"])
        row = ".decision.blocking"
        await tab.expect(f"{row} .fact-protocol").to_have_text("rules")
        await tab.expect(f"{row} .fact-score").to_have_text("1.00")
        await tab.expect(f'{row} .tool-call[data-name="Bash"] .tool-args').to_contain_text(command)
        # The system prompt and the tools offered are collapsed.
        await tab.expect("details.tools > summary").to_have_text("1 tool offered: Bash")
        await tab.expect("details.system-prompt .parts").to_be_hidden()
        await tab.expect(".tool-schema").to_be_hidden()
        await tab.expect(f"{row} .decision-raw pre").to_be_hidden()
        await screenshot(tab, "call-view.png")
        # One click each: the system prompt, a tool's schema, a decision's raw JSON.
        await _click(tab, "details.system-prompt summary")
        await tab.expect("details.system-prompt .parts").to_have_text(SYSTEM)
        await _click(tab, "details.tools > summary")
        await _click(tab, 'li.tool[data-name="Bash"] summary')
        await tab.expect(".tool-schema").to_contain_text('"required": [')
        await _click(tab, f"{row} .decision-raw summary")
        await tab.expect(f"{row} .decision-raw pre").to_contain_text('"action": "block"')


async def test_an_allowed_tool_call_its_chunks_and_the_next_turns_history_show_as_text(
    open_services: OpenServices, tab: BrowserPage
) -> None:
    command = f"echo '{HOSTILE}'"
    user: Any = {"role": "user", "content": f"run: {command}"}
    async with agent_server(open_services, tab) as server:
        async with _client(server) as client:
            raw = await client.chat.completions.with_raw_response.create(
                model=MODEL, messages=[user], tools=[BASH_TOOL], stream=True
            )
            first_id = raw.headers["x-litellm-call-id"]
            pieces = [
                call
                async for chunk in raw.parse()
                for choice in chunk.choices
                for call in choice.delta.tool_calls or ()
            ]
            call_id = next(piece.id for piece in pieces if piece.id)
            arguments = "".join(piece.function.arguments or "" for piece in pieces if piece.function)
            assert json.loads(arguments) == {"command": command}
            # The agent ran it: the next turn's history holds the call and its result.
            assistant: Any = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": call_id, "type": "function", "function": {"name": "Bash", "arguments": arguments}}
                ],
            }
            result: Any = {"role": "tool", "tool_call_id": call_id, "content": HOSTILE}
            second = await client.chat.completions.with_raw_response.create(
                model=MODEL, messages=[user, assistant, result], tools=[BASH_TOOL]
            )
        second_id = second.headers["x-litellm-call-id"]
        assert second.parse().choices[0].message.content == f"done: {HOSTILE}"
        assert (await server.view(first_id))["summary"]["outcome"] == "passed"

        await tab.goto(server.url(f"/ui/conversation?call_id={first_id}"))
        await tab.expect(OUTCOME).to_have_text("passed")
        released = '.response .column-final .tool-call[data-name="Bash"] .tool-args'
        await tab.expect(released).to_have_text(json.dumps({"command": command}, indent=2))
        # The stream's tool-call chunks show the call's pieces, not an empty mark.
        await tab.expect('.chunk-list[data-side="final"] .chunk-tool').not_to_have_count(0)
        await tab.expect('.chunk-list[data-side="final"] .chunk-tool >> nth=0').to_contain_text("Bash(")
        await tab.expect(".chunk-list").not_to_contain_text(["∅"])
        await tab.expect(UNESCAPED).to_have_count(0)

        await tab.goto(server.url(f"/ui/conversation?call_id={second_id}"))
        history = ".request ol.messages"
        await tab.expect(f"{history} .message").to_have_count(3)
        await tab.expect(
            f'{history} .message[data-role="assistant"] .tool-call[data-name="Bash"] .tool-args'
        ).to_contain_text(HOSTILE)
        await tab.expect(f'{history} .message[data-role="tool"] .tool-result .tool-output').to_have_text(
            HOSTILE
        )
        await tab.expect('.response .response-text[data-side="final"]').to_have_text(f"done: {HOSTILE}")
        await tab.expect(UNESCAPED).to_have_count(0)
