"""A coding agent's call whose tool call a policy blocked, as the UI shows it, in each agent
dialect: the block decision with the command it stopped, and the text the client got instead."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anthropic
import httpx
import openai
import pytest

from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols import ToolCallRulesPolicy
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.ui.browser import BrowserPage
from tests.ui.conftest import app_with_ui

KEY = "sk-ui-agents"
PROMPT = "run: cat ~/.ssh/id_rsa"
pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)
#: (address) -> the call id of one call whose tool call the rules block (streamed for Anthropic).
Ask = Callable[[str], Awaitable[str]]


async def _claude_code_like(address: str) -> str:
    client = anthropic.AsyncAnthropic(base_url=f"http://{address}", api_key=KEY, max_retries=0)
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": PROMPT}]
    async with client, client.messages.stream(model="demo-agent", max_tokens=64, messages=messages) as stream:
        assert (await stream.get_final_message()).stop_reason == "end_turn"
        return stream.response.headers["x-litellm-call-id"]


async def _codex_like(address: str) -> str:
    client = openai.AsyncOpenAI(base_url=f"http://{address}/v1", api_key=KEY, max_retries=0)
    async with client:
        raw = await client.responses.with_raw_response.create(model="demo-agent", input=PROMPT)
        assert [item.type for item in raw.parse().output] == ["message"]
        return raw.headers["x-litellm-call-id"]


@pytest.mark.parametrize(
    ("dialect", "ask"),
    [("anthropic_messages", _claude_code_like), ("openai_responses", _codex_like)],
    ids=["anthropic", "responses"],
)
async def test_a_blocked_tool_call_shows_its_decision_and_the_text_sent_instead(
    open_services: OpenServices, tab: BrowserPage, dialect: str, ask: Ask
) -> None:
    async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
        services = await open_services(ToolCallRulesPolicy(host=PolicyHost(environ={})), client_key=KEY)
        entries = [
            {
                "model_name": "demo-agent",
                "litellm_params": {"model": "anthropic/demo-agent", "api_base": f"http://{upstream}"},
            },
            {
                "model_name": "demo-agent",
                "litellm_params": {"model": "openai/demo-agent", "api_base": f"http://{upstream}/v1"},
            },
        ]
        services.model_routes = routes_from_config({"model_list": entries})
        async with serve_app(app_with_ui(services)) as address:
            call_id = await ask(address)
            await services.writer.flush()
            async with httpx.AsyncClient(base_url=f"http://{address}") as http:
                view = (await http.get("/api/hooks/conversation", params={"call_id": call_id})).json()["call"]
            await tab.goto(f"http://{address}/ui/conversation?call_id={call_id}")
            await tab.expect(".decision.blocking").to_contain_text("touches ~/.ssh")
            await tab.expect(".decision.blocking").to_contain_text("id_rsa")
            await tab.expect('.response-text[data-side="final"]').to_contain_text("blocked by a safety rule")
            await tab.goto("about:blank")  # close the page's live stream before the server stops
    assert view["dialect"] == dialect
