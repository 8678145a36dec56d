"""An Anthropic Messages call whose tool_use a policy blocked, as the UI shows it: the block decision
with the command it stopped, and what the client got instead."""

from __future__ import annotations

import anthropic
import httpx
import pytest

from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols import ToolCallRulesPolicy
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.ui.browser import BrowserPage
from tests.ui.conftest import app_with_ui

KEY = "sk-ui-anthropic"
pytestmark = pytest.mark.parametrize("backend", ["embedded"], indirect=True)


async def test_a_blocked_tool_use_shows_its_decision_and_the_text_sent_instead(
    open_services: OpenServices, tab: BrowserPage
) -> None:
    async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
        services = await open_services(ToolCallRulesPolicy(host=PolicyHost(environ={})), client_key=KEY)
        entry = {"model": "anthropic/demo-agent", "api_base": f"http://{upstream}", "api_key": "demo"}
        services.model_routes = routes_from_config(
            {"model_list": [{"model_name": "demo-agent", "litellm_params": entry}]}
        )
        async with serve_app(app_with_ui(services)) as address:
            client = anthropic.AsyncAnthropic(base_url=f"http://{address}", api_key=KEY, max_retries=0)
            async with (
                client,
                client.messages.stream(
                    model="demo-agent",
                    max_tokens=64,
                    messages=[{"role": "user", "content": "run: cat ~/.ssh/id_rsa"}],
                ) as stream,
            ):
                final = await stream.get_final_message()
                call_id = stream.response.headers["x-litellm-call-id"]
            await services.writer.flush()
            async with httpx.AsyncClient(base_url=f"http://{address}") as http:
                view = (await http.get("/api/hooks/conversation", params={"call_id": call_id})).json()["call"]
            await tab.goto(f"http://{address}/ui/conversation?call_id={call_id}")
            await tab.expect(".decision.blocking").to_contain_text("touches ~/.ssh")
            await tab.expect(".decision.blocking").to_contain_text("id_rsa")
            await tab.expect('.response-text[data-side="final"]').to_contain_text("blocked by a safety rule")
            await tab.goto("about:blank")  # close the page's live stream before the server stops
    assert final.stop_reason == "end_turn"
    assert view["dialect"] == "anthropic_messages"
