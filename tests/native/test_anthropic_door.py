"""The native door's Anthropic Messages API with the official anthropic SDK, on both backends,
against the demo upstream: policed text and tool calls, errors in Anthropic's shape, what is
forwarded upstream and what is recorded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import anthropic
import httpx
import pytest
from anthropic.types import MessageParam
from starlette.types import ASGIApp, Receive, Scope, Send

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.model import StreamEvent, ToolCallEvent
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies import AllCapsPolicy, LuthienPolicy, NoOpPolicy, PolicyContext, PolicyRejection
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols import ToolCallRulesPolicy
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from luthien_proxy.wire import DIALECT_KEY, STREAM_SUMMARY_TYPE
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.support.waiting import eventually

KEY = "sk-native-anthropic-key"
HELLO: list[MessageParam] = [{"role": "user", "content": "hello messages door"}]
BLOCKED = "[luthien] A proposed tool call was blocked by a safety rule."


class Captured:
    """What reached the demo upstream: each request's path, query and headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.requests.append(
                {"path": scope["path"], "query": scope["query_string"].decode(), "headers": headers}
            )
        await self.app(scope, receive, send)


def _config(upstream: str) -> dict[str, Any]:
    models = ["demo-echo", "demo-agent", "demo-error", "demo-long"]
    entries: list[dict[str, Any]] = [
        {
            "model_name": name,
            "litellm_params": {"model": f"anthropic/{name}", "api_base": upstream, "api_key": "up-key"},
        }
        for name in models
    ]
    entries.append(  # `mine-demo-echo` goes upstream as `demo-echo`, with the caller's own key
        {
            "model_name": "mine-*",
            "litellm_params": {"model": "anthropic/*", "api_base": upstream},
            "model_info": {"luthien_forward_client_key": True},
        }
    )
    return {"model_list": entries}


class Door(Protocol):
    def __call__(
        self, policy: LuthienPolicy | None = None, **settings: Any
    ) -> AbstractAsyncContextManager[tuple[anthropic.AsyncAnthropic, ControlPlaneServices, str]]: ...


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[Captured, str]]:
    captured = Captured(create_demo_upstream())
    async with serve_app(captured) as address:  # type: ignore[arg-type]
        yield captured, f"http://{address}"


@pytest.fixture
def door(open_services: OpenServices, upstream: tuple[Captured, str]) -> Door:
    @asynccontextmanager
    async def start(
        policy: LuthienPolicy | None = None, **settings: Any
    ) -> AsyncIterator[tuple[anthropic.AsyncAnthropic, ControlPlaneServices, str]]:
        services = await open_services(policy or NoOpPolicy(), client_key=KEY, **settings)
        services.model_routes = routes_from_config(_config(upstream[1]))
        async with serve_app(create_app(services.settings, services)) as address:
            client = anthropic.AsyncAnthropic(
                base_url=f"http://{address}", api_key=KEY, max_retries=0, timeout=10
            )
            async with client:
                yield client, services, address

    return start


def _rules() -> ToolCallRulesPolicy:
    return ToolCallRulesPolicy(host=PolicyHost(environ={}))


def _run(command: str) -> list[MessageParam]:
    return [{"role": "user", "content": f"please\nrun: {command}"}]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(NoOpPolicy(), "You said: hello messages door"), (AllCapsPolicy(), "YOU SAID: HELLO MESSAGES DOOR")],
)
async def test_plain_and_streamed_answers_are_policed(
    door: Door, policy: LuthienPolicy, expected: str
) -> None:
    async with door(policy) as (client, _, _):
        reply = await client.messages.create(model="demo-echo", max_tokens=64, messages=HELLO)
        async with client.messages.stream(model="demo-echo", max_tokens=64, messages=HELLO) as stream:
            deltas = [text async for text in stream.text_stream]
            final = await stream.get_final_message()
    assert [b.type for b in reply.content] == ["text"]
    assert reply.content[0].text == expected  # type: ignore[union-attr]
    assert "".join(deltas) == expected and len(deltas) >= 2, "text streams as it comes"
    assert final.content[0].text == expected  # type: ignore[union-attr]
    assert final.stop_reason == "end_turn"


@pytest.mark.parametrize("streamed", [False, True])
async def test_a_dangerous_tool_use_is_replaced_by_the_block_message_and_end_turn(
    door: Door, streamed: bool
) -> None:
    async with door(_rules()) as (client, services, _):
        messages = _run("cat ~/.ssh/id_rsa")
        if streamed:
            async with client.messages.stream(model="demo-agent", max_tokens=64, messages=messages) as stream:
                reply = await stream.get_final_message()
        else:
            reply = await client.messages.create(model="demo-agent", max_tokens=64, messages=messages)
        await services.writer.flush()
        decisions = await services.store.latest("policy_decision", 5)
    assert [b.type for b in reply.content] == ["text"]
    assert reply.content[0].text == BLOCKED  # type: ignore[union-attr]
    assert reply.stop_reason == "end_turn", "a client told tool_use would wait for a tool result"
    assert any(
        "id_rsa" in json.dumps(d.jsonblob) and d.jsonblob["decision"]["action"] == "block" for d in decisions
    )


@pytest.mark.parametrize("streamed", [False, True])
async def test_an_allowed_tool_use_arrives_whole(door: Door, streamed: bool) -> None:
    async with door(_rules()) as (client, _, _):
        messages = _run('grep -rn "TODO" src/')
        if streamed:
            async with client.messages.stream(model="demo-agent", max_tokens=64, messages=messages) as stream:
                reply = await stream.get_final_message()
        else:
            reply = await client.messages.create(model="demo-agent", max_tokens=64, messages=messages)
    (block,) = reply.content
    assert block.type == "tool_use" and block.name == "Bash"
    assert block.input == {"command": 'grep -rn "TODO" src/'}
    assert reply.stop_reason == "tool_use"


async def test_the_second_turn_carries_the_tool_result_and_the_whole_loop_is_one_trace(door: Door) -> None:
    async with door(_rules()) as (client, services, _):
        session = {"x-claude-code-session-id": "session-loop-1"}
        first = await client.messages.create(
            model="demo-agent", max_tokens=64, messages=_run("ls"), extra_headers=session
        )
        (call,) = first.content
        assert call.type == "tool_use"
        second = await client.messages.create(
            model="demo-agent",
            max_tokens=64,
            messages=[
                *_run("ls"),
                {"role": "assistant", "content": [call.model_dump()]},  # type: ignore[list-item]
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "a.txt"}],
                },
            ],
            extra_headers=session,
        )
        await services.writer.flush()
        records = await services.store.by_trace_id("session-loop-1")
    assert second.content[0].text.startswith("done: a.txt")  # type: ignore[union-attr]
    assert len({r.jsonblob["litellm_call_id"] for r in records}) == 2, "both turns are in the session's trace"
    assert all(
        r.jsonblob.get("payload", {}).get(DIALECT_KEY, "anthropic_messages") == "anthropic_messages"
        for r in records
    )


async def test_a_stream_gets_pings_while_the_policy_thinks(door: Door) -> None:
    class SlowJudge(LuthienPolicy):
        async def on_stream(
            self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
        ) -> AsyncIterator[StreamEvent]:
            async for event in events:
                if isinstance(event, ToolCallEvent):
                    await asyncio.sleep(0.5)
                yield event

    async with door(SlowJudge(), stream_keepalive_seconds=0.1) as (_, _, address):
        body = {"model": "demo-agent", "max_tokens": 64, "stream": True, "messages": _run("ls")}
        async with httpx.AsyncClient(timeout=10) as http:
            raw = await http.post(
                f"http://{address}/v1/messages?beta=true", json=body, headers={"x-api-key": KEY}
            )
    events = [line[7:] for line in raw.text.splitlines() if line.startswith("event: ")]
    start = events.index("message_start")
    pings_before_call = events[start : events.index("content_block_start")].count("ping")
    assert pings_before_call >= 3, f"a 0.5 s judge at a 0.1 s keepalive: {events}"
    assert events[-1] == "message_stop"


async def test_query_and_anthropic_headers_go_upstream_unchanged(
    door: Door, upstream: tuple[Captured, str]
) -> None:
    beta = "claude-code-20250219,interleaved-thinking-2025-05-14"
    async with door() as (_, _, address), httpx.AsyncClient(timeout=10) as http:
        answer = await http.post(
            f"http://{address}/v1/messages?beta=true",
            json={"model": "demo-echo", "max_tokens": 8, "messages": HELLO},
            headers={"x-api-key": KEY, "anthropic-version": "2023-06-01", "anthropic-beta": beta},
        )
    assert answer.status_code == 200
    (sent,) = [r for r in upstream[0].requests if r["path"] == "/v1/messages"]
    assert sent["query"] == "beta=true"
    assert sent["headers"]["anthropic-beta"] == beta
    assert sent["headers"]["x-api-key"] == "up-key", "the configured upstream key, never the client's"


async def test_a_pass_through_model_forwards_the_callers_own_key_and_never_records_it(
    door: Door, upstream: tuple[Captured, str]
) -> None:
    own = "sk-ant-callers-own-key-0123456789"
    async with door() as (_, services, address):
        client = anthropic.AsyncAnthropic(base_url=f"http://{address}", api_key=own, max_retries=0)
        async with client:
            raw = await client.messages.with_raw_response.create(
                model="mine-demo-echo", max_tokens=8, messages=HELLO
            )
        async with httpx.AsyncClient(timeout=10) as http:
            keyless = await http.post(
                f"http://{address}/v1/messages",
                json={"model": "mine-demo-echo", "max_tokens": 8, "messages": HELLO},
            )
        await services.writer.flush()
        records = await services.store.by_call_id(raw.headers["x-litellm-call-id"])
    assert (await raw.parse()).content[0].text == "You said: hello messages door"  # type: ignore[union-attr]
    assert keyless.status_code == 401 and keyless.json()["error"]["type"] == "authentication_error"
    (sent,) = [r for r in upstream[0].requests if r["path"] == "/v1/messages"]
    forwarded = sent["headers"].get("x-api-key") or sent["headers"].get("authorization")
    assert forwarded in (own, f"Bearer {own}"), "the caller's credential as sent, not the door's key"
    assert records and own not in json.dumps([r.jsonblob for r in records])


async def test_errors_are_anthropic_shaped_with_the_upstreams_status_and_type(door: Door) -> None:
    class Refuse(LuthienPolicy):
        async def on_request(self, request: Any, ctx: PolicyContext) -> None:
            raise PolicyRejection("no messages today", 403)

    async with door() as (client, _, address):
        with pytest.raises(anthropic.NotFoundError) as unknown:
            await client.messages.create(model="nope", max_tokens=8, messages=HELLO)
        with pytest.raises(anthropic.RateLimitError) as limited:
            await client.messages.create(
                model="demo-error", max_tokens=8, messages=HELLO, extra_body={"demo_status": 429}
            )
        bad = anthropic.AsyncAnthropic(base_url=f"http://{address}", api_key="wrong", max_retries=0)
        async with bad:
            with pytest.raises(anthropic.AuthenticationError):
                await bad.messages.create(model="demo-echo", max_tokens=8, messages=HELLO)
        async with httpx.AsyncClient(timeout=10) as http:
            broken = await http.post(
                f"http://{address}/v1/messages", content=b"{not json", headers={"x-api-key": KEY}
            )
    assert unknown.value.body["error"]["type"] == "not_found_error"  # type: ignore[index]
    assert limited.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert broken.status_code == 400 and broken.json()["type"] == "error"
    assert broken.json()["error"]["type"] == "invalid_request_error"
    async with door(Refuse()) as (client, _, _):
        with pytest.raises(anthropic.PermissionDeniedError) as refused:
            await client.messages.create(model="demo-echo", max_tokens=8, messages=HELLO)
    assert refused.value.body["error"] == {"type": "permission_error", "message": "no messages today"}  # type: ignore[index]


async def test_count_tokens_is_forwarded(door: Door) -> None:
    async with door() as (client, _, _):
        counted = await client.messages.count_tokens(model="demo-echo", messages=HELLO)
    assert counted.input_tokens > 0


async def test_a_streamed_call_is_recorded_with_its_dialect_and_text(door: Door) -> None:
    async with door(AllCapsPolicy()) as (client, services, _):
        async with client.messages.stream(model="demo-echo", max_tokens=64, messages=HELLO) as stream:
            await stream.get_final_message()
            call_id = stream.response.headers["x-litellm-call-id"]

        async def summary() -> dict[str, Any] | None:
            await services.writer.flush()
            rows = [
                r
                for r in await services.store.by_call_id(call_id)
                if r.debug_type_identifier == STREAM_SUMMARY_TYPE
            ]
            return rows[0].jsonblob if rows else None

        found = await eventually(summary)
    assert found["final_text"] == "YOU SAID: HELLO MESSAGES DOOR"
    assert found["original_text"] == "You said: hello messages door"
