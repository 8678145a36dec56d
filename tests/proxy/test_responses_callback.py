"""The callback's hooks for LiteLLM's `/v1/responses` (OpenAI Responses API), against the real control
plane in-process: payloads name their dialect, LiteLLM's typed events reach the policy as the JSON a
client reads and come back as objects LiteLLM writes, a function call is judged before any event of
it is sent, a rebuilt response keeps LiteLLM's hidden params, and every failure is an OpenAI error
(never the upstream unpoliced)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest
from litellm.types.llms.openai import ResponsesAPIResponse

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.errors import StreamPolicyError
from luthien_proxy.doors.litellm.callback.litellm_callback import LuthienCallback
from luthien_proxy.doors.litellm.callback.responses_stream import PolicedEvent
from luthien_proxy.policies import AllCapsPolicy, LuthienPolicy, NoOpPolicy
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols import ToolCallRulesPolicy
from luthien_proxy.tooling.stack.processes import free_port
from luthien_proxy.wire import DIALECT_KEY, DIALECT_OPENAI_RESPONSES
from tests.conftest import OpenServices
from tests.dialects.openai_responses_fixtures import call_item, message_item, response_object, stream
from tests.proxy.test_responses_stream import litellm_event, written
from tests.support.live_server import serve_app
from tests.support.waiting import eventually

TOKEN = "responses-test-token"
BLOCK = "[luthien] blocked: a safety rule matched this tool call."
TEXT = stream(message_item(0, "héllo ", "there"))
# One backend: the callback's side is the same on both (the stores have their own suites).
embedded = pytest.mark.parametrize("backend", ["embedded"], indirect=True)


class _Logging:
    """LiteLLM's logging object, as far as the callback reads it on a `/v1/responses` call."""

    call_type = "aresponses"


def _data(call_id: str, prompt: str = "hello there") -> dict[str, Any]:
    """A `/v1/responses` request as LiteLLM hands it to the hooks, with the secrets never to be sent."""
    return {
        "model": "demo-agent",
        "input": prompt,
        "stream": True,
        "litellm_call_id": call_id,
        "litellm_logging_obj": _Logging(),
        "secret_fields": {"raw_headers": {"authorization": "Bearer sk-master-secret"}},
        "litellm_metadata": {"headers": {"authorization": "Bearer sk-master-secret"}, "trace_id": None},
        "proxy_server_request": {"url": "http://127.0.0.1:4000/v1/responses", "method": "POST"},
    }


async def _upstream(events: list[dict[str, Any]]) -> AsyncIterator[Any]:
    for event in events:
        yield litellm_event(event)


@asynccontextmanager
async def _live(
    open_services: OpenServices, policy: LuthienPolicy
) -> AsyncIterator[tuple[str, ControlPlaneServices]]:
    services = await open_services(policy, proxy_token=TOKEN)
    async with serve_app(create_app(services.settings, services)) as address:
        yield address, services


@asynccontextmanager
async def _callback(
    url: str, *, fast_path: bool = False, fail_open: bool = False
) -> AsyncIterator[LuthienCallback]:
    config = CallbackConfig(
        control_plane_url=url, proxy_token=TOKEN, fast_path=fast_path, fail_open=fail_open, timeout_s=3
    )
    callback = LuthienCallback(config)
    try:
        yield callback
    finally:
        await callback.client.aclose()
        if callback.link is not None:
            await callback.link.aclose()


async def _stream(
    callback: LuthienCallback, data: dict[str, Any], events: list[dict[str, Any]], received: list[Any]
) -> None:
    """Run the hooks as LiteLLM does for a stream, collecting what it would write into `received`."""
    data = await callback.async_pre_call_hook(None, None, data, "aresponses")
    async for item in callback.async_post_call_streaming_iterator_hook(None, _upstream(events), data):
        received.append(item)


def _events(received: list[Any]) -> list[dict[str, Any]]:
    assert all(isinstance(item, PolicedEvent) for item in received), received
    return [written(item) for item in received]


async def _view(address: str, services: ControlPlaneServices, call_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client:

        async def completed() -> dict[str, Any] | None:
            await services.writer.flush()
            answer = await client.get("/api/hooks/conversation", params={"call_id": call_id})
            call = answer.json().get("call") if answer.status_code == 200 else None
            return call if call and call["completed_at"] else None

        return await eventually(completed)


@embedded
async def test_a_policed_stream_reaches_the_client_as_litellm_objects(open_services: OpenServices) -> None:
    received: list[Any] = []
    async with (
        _live(open_services, AllCapsPolicy()) as (address, services),
        _callback(f"http://{address}") as callback,
    ):
        await _stream(callback, _data("resp-stream"), TEXT, received)
        view = await _view(address, services, "resp-stream")
    events = _events(received)
    assert [e["type"] for e in events] == [e["type"] for e in TEXT]
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert "".join(deltas) == "HÉLLO THERE" and all(d == d.upper() for d in deltas)
    assert events[-1]["response"]["output"][0]["content"][0]["text"] == "HÉLLO THERE"
    assert (view["dialect"], view["streamed"], view["status"]) == (DIALECT_OPENAI_RESPONSES, True, "success")
    assert (view["response"]["original"], view["response"]["final"]) == ("héllo there", "HÉLLO THERE")


def _rules() -> ToolCallRulesPolicy:
    return ToolCallRulesPolicy(block_message=BLOCK, host=PolicyHost(environ={}))


@embedded
@pytest.mark.parametrize(
    ("command", "allowed"), [("cat /etc/shadow", False), ("ls -la", True)], ids=["blocked", "allowed"]
)
async def test_a_function_call_is_judged_before_any_event_of_it_is_sent(
    open_services: OpenServices, command: str, allowed: bool
) -> None:
    arguments = orjson.dumps({"cmd": command}).decode()
    received: list[Any] = []
    async with (
        _live(open_services, _rules()) as (address, services),
        _callback(f"http://{address}") as callback,
    ):
        await _stream(
            callback, _data("resp-call", f"run: {command}"), stream(call_item(0, arguments)), received
        )
        view = await _view(address, services, "resp-call")
    events = _events(received)
    done = [e["item"] for e in events if e["type"] == "response.output_item.done"]
    output = events[-1]["response"]["output"]
    assert events[-1]["type"] == "response.completed" and output == done
    if allowed:
        [call] = done
        assert (call["type"], call["name"], call["call_id"]) == ("function_call", "exec_command", "call_01")
        assert orjson.loads(call["arguments"]) == {"cmd": command}
        return
    assert command not in orjson.dumps(events).decode(), "no event carried the call, not even a delta"
    assert not any(e["type"].startswith("response.function_call") for e in events)
    assert [(item["type"], item["content"][0]["text"]) for item in done] == [("message", BLOCK)]
    assert [d.get("action") for d in view["decisions"]] == ["block"]


@embedded
async def test_a_stream_the_policy_leaves_alone_is_relayed_untouched_and_recorded(
    open_services: OpenServices,
) -> None:
    async with (
        _live(open_services, NoOpPolicy()) as (address, services),
        _callback(f"http://{address}", fast_path=True) as callback,
    ):
        assert callback.link is not None
        callback.link.may_report("")  # starts the link

        async def link_up() -> bool:
            assert callback.link is not None
            return callback.link.may_report("async_post_call_streaming_iterator_hook")

        await eventually(link_up)
        upstream = [litellm_event(event) for event in TEXT]

        async def items() -> AsyncIterator[Any]:
            for item in upstream:
                yield item

        data = await callback.async_pre_call_hook(None, None, _data("resp-relayed"), "aresponses")
        received = [
            item async for item in callback.async_post_call_streaming_iterator_hook(None, items(), data)
        ]
        view = await _view(address, services, "resp-relayed")
        assert callback.client.http.current is None, "nothing was asked"
    assert len(received) == len(upstream) and all(a is b for a, b in zip(received, upstream, strict=True))
    assert (view["dialect"], view["status"]) == (DIALECT_OPENAI_RESPONSES, "success")
    assert view["response"]["final"] == "héllo there"


@embedded
async def test_a_response_is_rebuilt_as_litellm_s_object_with_its_hidden_params(
    open_services: OpenServices,
) -> None:
    body = response_object("completed", [message_item(0, "hello there")[-1]["item"]])
    response = ResponsesAPIResponse(**body)
    response.hidden_params = {"model_id": "abc", "additional_headers": {"x-litellm-model-id": "abc"}}
    async with (
        _live(open_services, AllCapsPolicy()) as (address, services),
        _callback(f"http://{address}") as callback,
    ):
        data = {**_data("resp-plain"), "stream": False}
        assert await callback.async_pre_call_hook(None, None, data, "aresponses") is not None
        policed = await callback.async_post_call_success_hook(data, None, response)
        view = await _view(address, services, "resp-plain")
        await services.writer.flush()
        records = {r.debug_type_identifier: r.jsonblob for r in await services.store.by_call_id("resp-plain")}
    assert isinstance(policed, ResponsesAPIResponse)
    assert policed.model_dump()["output"][0]["content"][0]["text"] == "HELLO THERE"
    assert policed.hidden_params is response.hidden_params, "LiteLLM reads its headers from them"
    for hook in ("hook:async_pre_call_hook", "hook:async_post_call_success_hook"):
        assert records[hook]["payload"][DIALECT_KEY] == DIALECT_OPENAI_RESPONSES
    assert "sk-master-secret" not in orjson.dumps(records).decode()
    assert (view["dialect"], view["response"]["final"]) == (DIALECT_OPENAI_RESPONSES, "HELLO THERE")


async def test_control_plane_down_is_an_openai_error_frame_then_the_failure_never_the_upstream() -> None:
    """The frame comes first: as the stream's first item LiteLLM answers it as a JSON error with its
    status; the raise after it is what makes LiteLLM end a started stream with `response.failed`."""
    dead = f"http://127.0.0.1:{free_port()}"
    received: list[Any] = []
    async with _callback(dead) as callback:
        hook = callback.async_post_call_streaming_iterator_hook(None, _upstream(TEXT), _data("resp-down"))
        with pytest.raises(StreamPolicyError) as info:
            async for item in hook:
                received.append(item)
    assert info.value.status_code == 503 and "fail-closed" in info.value.message
    [frame] = received
    error = orjson.loads(frame.removeprefix(b"data: "))["error"]
    assert error["code"] == "503" and "fail-closed" in error["message"]
    # Fail-open passes an unreachable control plane only, as LiteLLM's own objects.
    async with _callback(dead, fail_open=True) as callback:
        hook = callback.async_post_call_streaming_iterator_hook(None, _upstream(TEXT), _data("resp-open"))
        replayed = [item async for item in hook]
    assert _events(replayed) == [written(litellm_event(event)) for event in TEXT]


@embedded
async def test_the_failure_hook_names_the_dialect_by_the_route(open_services: OpenServices) -> None:
    """LiteLLM often hands the failure hook no logging object; the request's URL tells the dialect."""
    async with (
        _live(open_services, NoOpPolicy()) as (address, services),
        _callback(f"http://{address}") as callback,
    ):
        data = {k: v for k, v in _data("resp-failed").items() if k != "litellm_logging_obj"}
        await callback.async_post_call_failure_hook(data, RuntimeError("upstream 500"), None)
        await services.writer.flush()
        records = await services.store.by_call_id("resp-failed")
    [record] = [r.jsonblob for r in records if r.debug_type_identifier == "hook:async_post_call_failure_hook"]
    assert record["payload"][DIALECT_KEY] == DIALECT_OPENAI_RESPONSES
