"""The callback's hooks for LiteLLM's `/v1/messages` (Anthropic Messages), against the real control
plane in-process: payloads name their dialect, the SSE bytes LiteLLM streams reach the policy as
whole events and come back as SSE frames, a dict response keeps LiteLLM's hidden params, and every
failure is an error LiteLLM writes in Anthropic's shape (never the upstream unpoliced)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson
import pytest

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.doors.litellm.callback.anthropic_sse import SSEDecoder, encode_event
from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.errors import StreamPolicyError
from luthien_proxy.doors.litellm.callback.litellm_callback import LuthienCallback
from luthien_proxy.policies import AllCapsPolicy, LuthienPolicy, NoOpPolicy
from luthien_proxy.tooling.stack.processes import free_port
from luthien_proxy.wire import DIALECT_ANTHROPIC_MESSAGES, DIALECT_KEY
from tests.conftest import OpenServices
from tests.proxy.test_anthropic_sse import EVENTS, WIRE
from tests.support.live_server import serve_app
from tests.support.waiting import eventually

TOKEN = "messages-test-token"
SUMMARY = "hook_result:async_post_call_streaming_hook"


class _Logging:
    """LiteLLM's logging object, as far as the callback reads it on a `/v1/messages` call."""

    call_type = "anthropic_messages"


def _data(call_id: str, prompt: str = "hello there") -> dict[str, Any]:
    """A `/v1/messages` request as LiteLLM hands it to the hooks, with the secrets never to be sent."""
    return {
        "model": "demo-agent",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": prompt}],
        "litellm_call_id": call_id,
        "litellm_logging_obj": _Logging(),
        "secret_fields": {"raw_headers": {"x-api-key": "sk-master-secret"}},
        "litellm_metadata": {"headers": {"x-api-key": "sk-master-secret"}, "trace_id": None},
    }


def _message(text: str) -> dict[str, Any]:
    """LiteLLM's answer to a non-streamed `/v1/messages` call: the Message dict and its bookkeeping."""
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "demo-agent",
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 2, "output_tokens": 2},
        "_hidden_params": {"model_id": "abc", "api_base": "http://127.0.0.1:9", "additional_headers": {}},
    }


async def _upstream(size: int = 7) -> AsyncIterator[bytes]:
    """The upstream's SSE as LiteLLM's `anthropic/` provider yields it: reads cut anywhere."""
    for i in range(0, len(WIRE), size):
        yield WIRE[i : i + size]


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
    """A callback for the control plane at `url`, its connections closed at the end."""
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


async def _frames(
    callback: LuthienCallback, data: dict[str, Any], upstream: Any = None, *, pre_call: bool = True
) -> list[bytes]:
    """The client's stream, after the pre-call hook as LiteLLM runs them (it names the call's dialect
    in the records)."""
    if pre_call:
        data = await callback.async_pre_call_hook(None, None, data, "anthropic_messages")
    hook = callback.async_post_call_streaming_iterator_hook(None, upstream or _upstream(), data)
    return [frame async for frame in hook]


def _events(frames: list[bytes]) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    return [event for frame in frames for event in decoder.feed(frame)] + decoder.finish()


async def _view(address: str, services: ControlPlaneServices, call_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client:

        async def completed() -> dict[str, Any] | None:
            await services.writer.flush()
            answer = await client.get("/api/hooks/conversation", params={"call_id": call_id})
            call = answer.json().get("call") if answer.status_code == 200 else None
            return call if call and call["completed_at"] else None

        return await eventually(completed)


async def test_a_policed_stream_reaches_the_policy_as_events_and_the_client_as_sse(
    open_services: OpenServices,
) -> None:
    async with (
        _live(open_services, AllCapsPolicy()) as (address, services),
        _callback(f"http://{address}") as callback,
    ):
        frames = await _frames(callback, _data("msg-stream"))
        view = await _view(address, services, "msg-stream")
    # Every item is one whole frame with its event line: what the Anthropic SDKs dispatch on.
    assert all(f.startswith(b"event: ") and f.endswith(b"\n\n") and f.count(b"\n\n") == 1 for f in frames)
    events = _events(frames)
    assert [e["type"] for e in events] == [e["type"] for e in EVENTS]
    texts = [e["delta"]["text"] for e in events if e["type"] == "content_block_delta"]
    assert texts == ["HÉLLO\nTHERE"]
    assert (view["dialect"], view["streamed"], view["status"]) == (
        DIALECT_ANTHROPIC_MESSAGES,
        True,
        "success",
    )
    assert (view["response"]["original"], view["response"]["final"]) == ("héllo\nthere", "HÉLLO\nTHERE")


async def test_a_stream_the_policy_leaves_alone_is_relayed_byte_for_byte_and_recorded(
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
        chunks = [WIRE[i : i + 5] for i in range(0, len(WIRE), 5)]
        frames = await _frames(callback, _data("msg-relayed"), _upstream(5))
        view = await _view(address, services, "msg-relayed")
        assert callback.client.http.current is None, "nothing was asked"
    assert frames == chunks, "the client gets the upstream's own bytes"
    assert (view["dialect"], view["status"]) == (DIALECT_ANTHROPIC_MESSAGES, "success")
    assert view["response"]["final"] == "héllo\nthere"


async def test_a_response_is_policed_without_litellm_bookkeeping_and_keeps_it(
    open_services: OpenServices,
) -> None:
    async with (
        _live(open_services, AllCapsPolicy()) as (address, services),
        _callback(f"http://{address}") as callback,
    ):
        data = _data("msg-plain")
        assert await callback.async_pre_call_hook(None, None, data, "anthropic_messages") is not None
        response = _message("hello there")
        policed = await callback.async_post_call_success_hook(data, None, response)
        view = await _view(address, services, "msg-plain")
        await services.writer.flush()
        records = {r.debug_type_identifier: r.jsonblob for r in await services.store.by_call_id("msg-plain")}
    assert policed is not None
    assert policed["content"] == [{"type": "text", "text": "HELLO THERE"}]
    assert policed["_hidden_params"] is response["_hidden_params"], "LiteLLM reads its headers from it"
    sent = records["hook:async_post_call_success_hook"]["payload"]
    assert sent[DIALECT_KEY] == DIALECT_ANTHROPIC_MESSAGES and "_hidden_params" not in sent["response"]
    assert records["hook:async_pre_call_hook"]["payload"][DIALECT_KEY] == DIALECT_ANTHROPIC_MESSAGES
    assert "sk-master-secret" not in orjson.dumps(records).decode()
    assert (view["dialect"], view["response"]["final"]) == (DIALECT_ANTHROPIC_MESSAGES, "HELLO THERE")


async def test_control_plane_down_is_an_error_in_the_dialect_never_the_upstream() -> None:
    """Before the first chunk an HTTPException would become an OpenAI-shaped SSE body; a
    StreamPolicyError is what LiteLLM answers as Anthropic's JSON error with its status."""
    dead = f"http://127.0.0.1:{free_port()}"
    async with _callback(dead) as callback:
        with pytest.raises(StreamPolicyError) as info:
            await _frames(callback, _data("msg-down"), pre_call=False)
    assert info.value.status_code == 503 and "fail-closed" in info.value.message
    # Fail-open passes an unreachable control plane only, and writes the upstream's events as SSE.
    async with _callback(dead, fail_open=True) as callback:
        frames = await _frames(callback, _data("msg-down-open"), pre_call=False)
    assert _events(frames) == EVENTS and all(f.startswith(b"event: ") for f in frames)


async def test_an_upstream_that_is_not_sse_fails_the_stream(open_services: OpenServices) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield encode_event(EVENTS[0])
        yield b"data: <html>502 Bad Gateway</html>\n\n"

    async with (
        _live(open_services, AllCapsPolicy()) as (address, _),
        _callback(f"http://{address}") as callback,
    ):
        with pytest.raises(ValueError, match="not JSON"):
            await _frames(callback, _data("msg-broken"), broken())


async def test_a_request_of_a_dialect_no_policy_sees_is_refused() -> None:
    from fastapi import HTTPException

    async with _callback(f"http://127.0.0.1:{free_port()}") as callback:
        with pytest.raises(HTTPException) as info:
            await callback.async_pre_call_hook(None, None, _data("msg-refused"), "aget_responses")
    assert info.value.status_code == 403 and "POST /v1/messages" in str(info.value.detail)
