"""The native front door with the official openai SDK, on both backends, against the demo upstream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import httpx
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.model import Request, Response, StreamEvent
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies import (
    AllCapsPolicy,
    LuthienPolicy,
    NoOpPolicy,
    PolicyContext,
    RequestBlocklistPolicy,
)
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from luthien_proxy.wire import STREAM_SUMMARY_TYPE
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.support.processes import free_port
from tests.support.waiting import eventually

KEY = "sk-native-test-key"
PROMPT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello native door"}]


class ExplodingStream(LuthienPolicy):
    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        raise RuntimeError("judge crashed")

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in events:
            if ctx.chunks_received == 4:
                raise RuntimeError("monitor crashed")
            yield event


def _model_config(upstream: str) -> dict[str, Any]:
    return {
        "model_list": [
            {
                "model_name": name,
                "litellm_params": {"model": f"openai/{name}", "api_base": upstream, "api_key": "x"},
            }
            for name in ("demo-echo", "demo-tool", "demo-error", "demo-long")
        ]
        + [{"model_name": "claude", "litellm_params": {"model": "anthropic/claude-x"}}]
    }


class Door(Protocol):
    def __call__(
        self,
        policy: LuthienPolicy | None = None,
        *,
        key: str | None = KEY,
        upstream: str | None = None,
        fail_mode: str = "closed",
        **settings: Any,
    ) -> AbstractAsyncContextManager[tuple[openai.AsyncOpenAI, ControlPlaneServices, str]]: ...


@pytest.fixture
async def upstream_url() -> AsyncIterator[str]:
    async with serve_app(create_demo_upstream()) as address:  # type: ignore[arg-type]
        yield f"http://{address}/v1"


@pytest.fixture
def door(open_services: OpenServices, upstream_url: str) -> Door:
    @asynccontextmanager
    async def start(
        policy: LuthienPolicy | None = None,
        *,
        key: str | None = KEY,
        upstream: str | None = None,
        fail_mode: str = "closed",
        **settings: Any,
    ) -> AsyncIterator[tuple[openai.AsyncOpenAI, ControlPlaneServices, str]]:
        services = await open_services(
            policy or NoOpPolicy(), client_key=key, fail_mode=fail_mode, **settings
        )
        services.model_routes = routes_from_config(_model_config(upstream or upstream_url))
        async with serve_app(create_app(services.settings, services)) as address:
            client = openai.AsyncOpenAI(
                base_url=f"http://{address}/v1", api_key=KEY, max_retries=0, timeout=10
            )
            async with client:
                yield client, services, address

    return start


async def _texts(stream: Any) -> list[str]:
    return [chunk.choices[0].delta.content or "" async for chunk in stream if chunk.choices]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [(NoOpPolicy(), "You said: hello native door"), (AllCapsPolicy(), "YOU SAID: HELLO NATIVE DOOR")],
)
async def test_plain_and_streamed_answers_are_policed(
    door: Door, policy: LuthienPolicy, expected: str
) -> None:
    async with door(policy) as (client, _, _):
        reply = await client.chat.completions.create(model="demo-echo", messages=PROMPT)
        streamed = await _texts(
            await client.chat.completions.create(model="demo-echo", messages=PROMPT, stream=True)
        )
        models = [m.id async for m in client.models.list()]
    assert reply.choices[0].message.content == expected
    assert "".join(streamed) == expected
    assert len([t for t in streamed if t]) >= 4
    assert models == ["demo-echo", "demo-error", "demo-long", "demo-tool"], "only OpenAI-compatible models"


async def test_call_is_recorded_like_a_litellm_call(door: Door) -> None:
    async with door(AllCapsPolicy()) as (client, services, address):
        raw = await client.chat.completions.with_raw_response.create(
            model="demo-echo",
            messages=PROMPT,
            stream=True,
            extra_headers={"x-litellm-trace-id": "native-trace"},
        )
        call_id = raw.headers["x-litellm-call-id"]
        text = "".join(await _texts(raw.parse()))
        snapshot = await _completed_snapshot(services, address, call_id)
    view = snapshot["call"]
    assert (view["status"], view["streamed"], view["trace_id"]) == ("success", True, "native-trace")
    assert view["request"]["original"] == PROMPT
    assert view["response"] == {"original": "You said: hello native door", "final": text}
    kinds = [e["type"] for e in snapshot["events"]]
    assert kinds[0] == "request_started" and kinds[-1] == "request_completed"


async def _completed_snapshot(services: ControlPlaneServices, address: str, call_id: str) -> dict[str, Any]:
    """The stream's summary is recorded just after `[DONE]`; poll until the call shows completed."""
    async with httpx.AsyncClient(base_url=f"http://{address}") as api:
        for _ in range(200):
            await services.writer.flush()
            snapshot = (await api.get("/api/hooks/conversation", params={"call_id": call_id})).json()
            if snapshot.get("call", {}).get("completed_at"):
                return snapshot
            await asyncio.sleep(0.02)
    raise AssertionError(f"call {call_id} never completed")


async def test_rejections_are_4xx_streamed_or_not(door: Door) -> None:
    policy = RequestBlocklistPolicy(patterns=["(?i)forbidden"], message="not on this proxy")
    bad: list[ChatCompletionMessageParam] = [{"role": "user", "content": "the forbidden thing"}]
    async with door(policy) as (client, _, _):
        with pytest.raises(openai.PermissionDeniedError, match="not on this proxy"):
            await client.chat.completions.create(model="demo-echo", messages=bad)
        with pytest.raises(openai.PermissionDeniedError, match="not on this proxy"):
            await client.chat.completions.create(model="demo-echo", messages=bad, stream=True)


@pytest.mark.parametrize("fail_mode", ["closed", "open"])
async def test_policy_failure_fails_the_call_in_either_fail_mode(door: Door, fail_mode: str) -> None:
    # The policy runs in this process: its failure is provoked by the call, never a reason to pass it.
    async with door(ExplodingStream(), fail_mode=fail_mode) as (client, _, _):
        received: list[str] = []
        with pytest.raises(openai.APIError, match="monitor crashed"):
            async for chunk in await client.chat.completions.create(
                model="demo-echo", messages=PROMPT, stream=True
            ):
                received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
        with pytest.raises(openai.InternalServerError, match="judge crashed"):
            await client.chat.completions.create(model="demo-echo", messages=PROMPT)
    assert "".join(received) == "You said: ", "only what the policy released before failing"


async def test_tool_calls_pass_whole_and_canonical(door: Door) -> None:
    async with door(AllCapsPolicy()) as (client, _, _):
        reply = await client.chat.completions.create(model="demo-tool", messages=PROMPT)
        arguments = ""
        async for chunk in await client.chat.completions.create(
            model="demo-tool", messages=PROMPT, stream=True
        ):
            for delta in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
                arguments += delta.function.arguments or "" if delta.function else ""
    [call] = reply.choices[0].message.tool_calls or []
    # The pipeline re-encodes every call from its decoded arguments (what a policy judges).
    assert call.function.arguments == '{"command":"ls -la"}'  # type: ignore[union-attr]
    assert arguments == '{"command":"ls -la"}'


async def test_upstream_errors_pass_through_with_their_status(door: Door) -> None:
    async with door() as (client, _, _):
        with pytest.raises(openai.InternalServerError, match="simulated upstream failure"):
            await client.chat.completions.create(model="demo-error", messages=PROMPT)
        with pytest.raises(openai.RateLimitError):
            await client.chat.completions.create(
                model="demo-error", messages=PROMPT, extra_body={"demo_status": 429}
            )
        with pytest.raises(openai.InternalServerError, match="simulated upstream failure"):
            await client.chat.completions.create(model="demo-error", messages=PROMPT, stream=True)


async def test_upstream_down_is_a_clear_502(door: Door) -> None:
    async with door(upstream=f"http://127.0.0.1:{free_port()}/v1") as (client, _, _):
        for stream in (False, True):
            with pytest.raises(openai.APIStatusError) as caught:
                await client.chat.completions.create(model="demo-echo", messages=PROMPT, stream=stream)
            assert caught.value.status_code == 502
            assert "unreachable" in str(caught.value)


async def test_auth_and_bad_requests(door: Door) -> None:
    async with door() as (client, _, address):
        wrong = openai.AsyncOpenAI(base_url=f"http://{address}/v1", api_key="nope", max_retries=0)
        async with wrong:
            with pytest.raises(openai.AuthenticationError):
                await wrong.chat.completions.create(model="demo-echo", messages=PROMPT)
        with pytest.raises(openai.NotFoundError, match="not served by this front door"):
            await client.chat.completions.create(model="claude", messages=PROMPT)
        async with httpx.AsyncClient(
            base_url=f"http://{address}/v1", headers={"authorization": f"Bearer {KEY}"}
        ) as raw:
            cases = [
                (b"{not json", "not valid JSON"),
                (b'{"model": "demo-echo"}', "'messages' must be a non-empty list"),
                (b'{"messages": [{"role": "user", "content": "x"}]}', "'model' must be a non-empty string"),
                (
                    b'{"model": "demo-echo", "messages": [{}], "stream": "yes"}',
                    "'stream' must be true or false",
                ),
            ]
            for body, message in cases:
                response = await raw.post("/chat/completions", content=body)
                assert response.status_code == 400, body
                assert message in response.json()["error"]["message"]
        assert (await client.chat.completions.create(model="demo-echo", messages=PROMPT)).choices


class CrashingRequest(LuthienPolicy):
    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        if request.last_user_text() == "crash":
            raise RuntimeError("pre-call crashed")
        return None


async def test_every_refused_call_ends_with_an_outcome(door: Door) -> None:
    """A call the door answers with an error (unknown model, policy failure) is recorded as
    finished with that error, never left "in progress"."""
    crash: list[ChatCompletionMessageParam] = [{"role": "user", "content": "crash"}]
    cases = [
        ("no-such-model", PROMPT, 404, "'no-such-model' is not served by this front door"),
        ("demo-echo", crash, 500, "pre-call crashed"),
    ]
    async with door(CrashingRequest()) as (client, services, address):
        for model, messages, status, message in cases:
            for stream in (False, True):
                with pytest.raises(openai.APIStatusError, match=message) as caught:
                    await client.chat.completions.create(model=model, messages=messages, stream=stream)
                assert caught.value.status_code == status
                call_id = caught.value.response.headers["x-litellm-call-id"]
                view = (await _completed_snapshot(services, address, call_id))["call"]
                assert view["status"] == "failure" and message in view["error"], view
                [listed] = [c for c in await services.store.recent_calls(20) if c["call_id"] == call_id]
                assert listed["status"] == "completed"


async def test_door_without_a_key_is_disabled_with_a_reason(door: Door) -> None:
    async with door(key=None) as (client, _, _):
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(model="demo-echo", messages=PROMPT)
    assert caught.value.status_code == 503
    assert "set LITELLM_MASTER_KEY" in str(caught.value)


async def test_a_client_hanging_up_mid_stream_stops_it_and_is_recorded(door: Door) -> None:
    async with door() as (client, services, _):
        stream = await client.chat.completions.create(
            model="demo-long",
            messages=PROMPT,
            stream=True,
            extra_body={"demo_chunks": 200, "demo_delay_ms": 20},
        )
        received = 0
        async for chunk in stream:
            received += bool(chunk.choices and chunk.choices[0].delta.content)
            if received == 3:
                break
        await stream.close()
        done = await _stream_summary(services)
        # The door keeps serving.
        answer = await client.chat.completions.create(model="demo-echo", messages=PROMPT)
    assert done["status"] == "disconnected"
    assert 3 <= done["chunks_sent"] < 200
    assert answer.choices[0].message.content == "You said: hello native door"


async def test_an_upstream_that_goes_quiet_ends_the_stream_with_a_timeout(door: Door) -> None:
    async with door(stream_idle_timeout_seconds=0.3) as (client, services, _):
        # Nothing was sent before the timeout, so the client gets a real HTTP status.
        with pytest.raises(openai.APIStatusError) as caught:
            await client.chat.completions.create(
                model="demo-long",
                messages=PROMPT,
                stream=True,
                extra_body={"demo_chunks": 3, "demo_delay_ms": 3000},
            )
        done = await _stream_summary(services)
    assert caught.value.status_code == 504
    assert "no chunk from the upstream for 0.3s (idle timeout)" in str(caught.value)
    assert (done["status"], done["chunks_received"]) == ("timeout", 0)


async def _stream_summary(services: ControlPlaneServices) -> dict[str, Any]:
    """The summary record of the last stream the door served, once it is written."""

    async def summary() -> dict[str, Any] | None:
        await services.writer.flush()
        for call_id in [c["call_id"] for c in await services.store.recent_calls(5)]:
            for record in await services.store.by_call_id(call_id):
                if record.debug_type_identifier == STREAM_SUMMARY_TYPE:
                    return record.jsonblob
        return None

    return await eventually(summary)
