"""Calls through the native door, against the demo upstream, with a policy that gives each outcome
a recognisable prompt: the traffic the call index's tests list."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols import ChainPolicy
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.support.waiting import eventually

KEY = "sk-index-test"
#: Prompts for demo-agent and the outcome each gets under `outcome_policy()`.
PASSED = "hello there"
MODIFIED = "what is a fox?"  # UiTestPolicy swaps fox for cat in a plain answer
REJECTED = "something forbidden"  # UiTestPolicy refuses it before the model is called
BLOCKED_COMMAND = "cat ~/.ssh/id_rsa <img src=x onerror=alert(1)>"  # the rules block ~/.ssh
BLOCKED = f"run: {BLOCKED_COMMAND}"


def outcome_policy() -> ChainPolicy:
    """UiTestPolicy (rejects, swaps words, upper-cases streams), then the default tool-call rules."""
    return ChainPolicy(
        [
            {"class": "tests.ui.traffic:UiTestPolicy"},
            {"class": "luthien_proxy.protocols:ToolCallRulesPolicy"},
        ],
        host=PolicyHost(environ={}),
    )


@dataclass(frozen=True)
class NativeDoor:
    """The control plane (doors, APIs and UI) on a real port, with a client for it."""

    address: str
    services: ControlPlaneServices
    client: httpx.AsyncClient

    def url(self, path: str) -> str:
        return f"http://{self.address}{path}"

    async def ask(self, prompt: str, trace_id: str | None = None, model: str = "demo-agent") -> str:
        """One plain chat call through the native OpenAI door; returns its call id."""
        headers = {"authorization": f"Bearer {KEY}"}
        if trace_id:
            headers["x-litellm-trace-id"] = trace_id
        body = {"model": model, "messages": [{"role": "user", "content": prompt}]}
        answer = await self.client.post("/v1/chat/completions", json=body, headers=headers)
        assert answer.status_code in (200, 403), answer.text
        return answer.headers["x-litellm-call-id"]

    async def listed(self, *call_ids: str) -> list[dict[str, Any]]:
        """`/api/calls`' first page once every one of `call_ids` is on it."""

        async def check() -> list[dict[str, Any]] | None:
            await self.services.writer.flush()
            calls = (await self.client.get("/api/calls")).json()["calls"]
            return calls if set(call_ids) <= {call["call_id"] for call in calls} else None

        return await eventually(check)


@asynccontextmanager
async def native_door(open_services: OpenServices, **settings: Any) -> AsyncIterator[NativeDoor]:
    """Serve the control plane with `outcome_policy()` and demo-agent / demo-echo routed upstream."""
    async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
        services = await open_services(outcome_policy(), client_key=KEY, **settings)
        models = ("demo-agent", "demo-echo")
        entries = [
            {"model_name": m, "litellm_params": {"model": f"openai/{m}", "api_base": f"http://{upstream}/v1"}}
            for m in models
        ]
        services.model_routes = routes_from_config({"model_list": entries})
        async with (
            serve_app(create_app(services.settings, services)) as address,
            httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
        ):
            yield NativeDoor(address, services, client)
