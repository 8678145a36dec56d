"""The native door's OpenAI Responses API with the official openai SDK, against the demo upstream:
policed text, a judged function call held until complete, errors, the session's trace."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import openai
import pytest

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.model import StreamEvent
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies import AllCapsPolicy, LuthienPolicy, NoOpPolicy, PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols import ToolCallRulesPolicy
from luthien_proxy.read.conversation import call_view, replay_events
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.conftest import OpenServices
from tests.support.live_server import serve_app

KEY = "sk-native-responses-key"
BLOCKED = "[luthien] A proposed tool call was blocked by a safety rule."
EXEC_COMMAND = {
    "type": "function",
    "name": "exec_command",
    "description": "Run a shell command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
}


class Door(Protocol):
    def __call__(
        self, policy: LuthienPolicy | None = None
    ) -> AbstractAsyncContextManager[tuple[openai.AsyncOpenAI, ControlPlaneServices]]: ...


@pytest.fixture
def door(open_services: OpenServices) -> Door:
    @asynccontextmanager
    async def start(
        policy: LuthienPolicy | None = None,
    ) -> AsyncIterator[tuple[openai.AsyncOpenAI, ControlPlaneServices]]:
        async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
            services = await open_services(policy or NoOpPolicy(), client_key=KEY)
            entries = [
                {
                    "model_name": name,
                    "litellm_params": {
                        "model": f"openai/{name}",
                        "api_base": f"http://{upstream}/v1",
                        "api_key": "x",
                    },
                }
                for name in ("demo-echo", "demo-agent", "demo-error")
            ]
            services.model_routes = routes_from_config({"model_list": entries})
            async with serve_app(create_app(services.settings, services)) as address:
                client = openai.AsyncOpenAI(
                    base_url=f"http://{address}/v1", api_key=KEY, max_retries=0, timeout=10
                )
                async with client:
                    yield client, services

    return start


def _rules() -> ToolCallRulesPolicy:
    return ToolCallRulesPolicy(host=PolicyHost(environ={}))


async def _ask(client: openai.AsyncOpenAI, model: str, text: str, *, stream: bool, **extra: Any) -> Any:
    if stream:
        async with client.responses.stream(model=model, input=text, **extra) as events:
            return await events.get_final_response()
    return await client.responses.create(model=model, input=text, **extra)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_text_is_policed(door: Door, stream: bool) -> None:
    async with door(AllCapsPolicy()) as (client, _):
        reply = await _ask(client, "demo-echo", "hello responses door", stream=stream)
    assert reply.output_text == "YOU SAID: HELLO RESPONSES DOOR"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_a_dangerous_function_call_is_replaced_by_a_message(door: Door, stream: bool) -> None:
    async with door(_rules()) as (client, services):
        reply = await _ask(
            client, "demo-agent", "run: cat ~/.ssh/id_rsa", stream=stream, tools=[EXEC_COMMAND]
        )
        await services.writer.flush()
        decisions = await services.store.latest("policy_decision", 5)
    assert [item.type for item in reply.output] == ["message"]
    assert reply.output_text == BLOCKED
    assert any(
        "id_rsa" in json.dumps(d.jsonblob) and d.jsonblob["decision"]["action"] == "block" for d in decisions
    )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
async def test_an_allowed_function_call_arrives_whole(door: Door, stream: bool) -> None:
    async with door(_rules()) as (client, _):
        reply = await _ask(client, "demo-agent", "run: ls -la", stream=stream, tools=[EXEC_COMMAND])
    (call,) = reply.output
    assert (call.type, call.name, json.loads(call.arguments)) == (
        "function_call",
        "exec_command",
        {"cmd": "ls -la"},
    )


async def test_errors_and_the_session_trace(door: Door) -> None:
    async with door() as (client, services):
        with pytest.raises(openai.NotFoundError):
            await client.responses.create(model="nope", input="hi")
        with pytest.raises(openai.RateLimitError):
            await client.responses.create(model="demo-error", input="hi", extra_body={"demo_status": 429})
        raw = await client.responses.with_raw_response.create(
            model="demo-echo", input="hi", extra_headers={"session-id": "codex-session-1"}
        )
        await services.writer.flush()
        records = await services.store.by_trace_id("codex-session-1")
    call_id = raw.headers["x-litellm-call-id"]
    assert {r.jsonblob["litellm_call_id"] for r in records} == {call_id}
    view = call_view(call_id, replay_events(records))
    assert (view["dialect"], view["status"]) == ("openai_responses", "success")
    assert view["request"]["original"] == [{"role": "user", "content": "hi"}], "the input, as one user turn"
    assert view["response"]["final"] == "You said: hi"


class _FailsMidStream(LuthienPolicy):
    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in events:
            if ctx.chunks_received == 6:
                raise RuntimeError("monitor crashed")
            yield event


async def test_a_stream_that_fails_midway_ends_with_an_error_and_response_failed(door: Door) -> None:
    async with door(_FailsMidStream()) as (client, _):
        seen: list[str] = []
        with pytest.raises(openai.APIError, match="monitor crashed"):
            async with client.responses.stream(model="demo-echo", input="hello there") as stream:
                async for event in stream:
                    seen.append(event.type)
    assert "response.created" in seen and "response.completed" not in seen
