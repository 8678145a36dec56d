"""A coding agent's traffic for the UI tests: the app with `ToolCallRulesPolicy` in front of the demo
upstream (whose `demo-agent` answers a `run: <cmd>` line with one shell tool call), reached through
the native door in every dialect."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from luthien_proxy.control_plane import ControlPlaneServices
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols import ToolCallRulesPolicy
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.ui.browser import BrowserPage
from tests.ui.conftest import app_with_ui

KEY = "sk-ui-agents"
#: The call view's outcome badge.
OUTCOME = "section.call .badges .badge[data-outcome]"
MODEL = "demo-agent"
#: The shell tool an agent offers (the demo agent calls it).
BASH_TOOL: Any = {  # the SDKs take it as their own TypedDict
    "type": "function",
    "function": {
        "name": "Bash",
        "description": "Runs a shell command.",
        "parameters": {
            "type": "object",
            "properties": {"command": {"type": "string"}},
            "required": ["command"],
        },
    },
}


@dataclass(frozen=True)
class AgentServer:
    """The app with the UI and the native door, its model routes leading to the demo upstream."""

    address: str
    services: ControlPlaneServices

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    async def view(self, call_id: str) -> dict[str, Any]:
        """The call's view as the page reads it, once every record is written."""
        await self.services.writer.flush()
        async with httpx.AsyncClient(base_url=f"http://{self.address}") as http:
            found = await http.get("/api/hooks/conversation", params={"call_id": call_id})
        assert found.status_code == 200, found.text
        return found.json()["call"]


@asynccontextmanager
async def agent_server(
    open_services: OpenServices, tab: BrowserPage, rules: list[Any] | None = None
) -> AsyncIterator[AgentServer]:
    """Serve the demo upstream and the app; the rules (`rules`, else the defaults: any call touching
    ~/.ssh) block tool calls. `tab` leaves the app's pages before it stops, pass or fail: the
    server's shutdown waits for their live streams."""
    async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
        policy = ToolCallRulesPolicy(rules, host=PolicyHost(environ={}))
        services = await open_services(policy, client_key=KEY)
        entries = [
            {
                "model_name": MODEL,
                "litellm_params": {"model": f"anthropic/{MODEL}", "api_base": f"http://{upstream}"},
            },
            {
                "model_name": MODEL,
                "litellm_params": {"model": f"openai/{MODEL}", "api_base": f"http://{upstream}/v1"},
            },
        ]
        services.model_routes = routes_from_config({"model_list": entries})
        async with serve_app(app_with_ui(services)) as address:
            try:
                yield AgentServer(address, services)
            finally:
                await tab.goto("about:blank")


async def expect_blocked_call_view(tab: BrowserPage, command: str, client_text: str) -> None:
    """The call view of a call whose tool call running `command` the rules blocked: outcome blocked
    with the reason, the proposed call beside the text the client got (the same in every dialect)."""
    await tab.expect(OUTCOME).to_have_attribute("data-outcome", "blocked")
    await tab.expect(OUTCOME).to_have_text("blocked")
    await tab.expect(".banner-blocked .decision-words").to_contain_text("touches ~/.ssh")
    proposed = '.response .column-original .tool-call[data-name="Bash"] .tool-args'
    await tab.expect(proposed).to_contain_text(command)
    await tab.expect(".response .column-final .tool-call").to_have_count(0)
    await tab.expect('.response .column-final .response-text[data-side="final"]').to_have_text(client_text)
    await tab.expect(".decision.blocking .fact-rule").to_have_text("touches ~/.ssh")
