"""One API key cannot write into another's calls or traces: the real callback, a real control plane.

LiteLLM lets the client choose `x-litellm-call-id` and the trace id; the callback puts both in the
namespace of the caller's key (`call_scope`), so the same chosen ids from two keys are two calls in
two traces, on the hook path and on the proxy link's relayed streams alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
from litellm.proxy._types import UserAPIKeyAuth
from litellm.types.utils import ModelResponseStream

from luthien_proxy.call_scope import MASTER_PRINCIPAL, MASTER_TAG, principal_of, scoped_id, tag_of
from luthien_proxy.control_plane import create_app
from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.litellm_callback import LuthienCallback
from luthien_proxy.doors.native.calls import CallIds
from luthien_proxy.policies import AllCapsPolicy, NoOpPolicy
from tests.conftest import OpenServices
from tests.proxy.payloads import hook_data, model_response
from tests.proxy.test_policy_link import _linked_callback, _live, _records
from tests.support.live_server import serve_app

# How LiteLLM hands the callback its callers: two virtual keys, and the master key's holder.
ALICE = UserAPIKeyAuth(api_key="sk-alice-0123456789")
MALLORY = UserAPIKeyAuth(api_key="sk-mallory-0123456789")
MASTER = UserAPIKeyAuth(api_key=MASTER_PRINCIPAL)


def _ids(key: UserAPIKeyAuth, raw: str) -> str:
    scoped = scoped_id(principal_of(key), raw)
    assert scoped is not None
    return scoped


async def _call(callback: LuthienCallback, key: UserAPIKeyAuth, call_id: str, prompt: str) -> None:
    data = {**hook_data(prompt, call_id), "litellm_trace_id": "trace-shared"}
    await callback.async_pre_call_hook(key, None, data, "acompletion")
    await callback.async_post_call_success_hook(data, key, model_response(f"answer to {prompt}"))


async def test_the_same_chosen_ids_from_two_keys_are_two_calls_in_two_traces(
    open_services: OpenServices,
) -> None:
    services = await open_services(AllCapsPolicy())
    async with serve_app(create_app(services.settings, services)) as address:
        callback = LuthienCallback(CallbackConfig(control_plane_url=f"http://{address}", fast_path=False))
        await _call(callback, ALICE, "call-shared", "alice's plan")
        await _call(callback, MALLORY, "call-shared", "mallory was here")
        await _call(callback, MASTER, "call-master", "the operator's call")
        # The master's own id shaped like Alice's namespace still cannot reach it.
        await _call(callback, MASTER, _ids(ALICE, "call-shared"), "mimic")
        await callback.client.aclose()
        await services.writer.flush()
        async with httpx.AsyncClient(base_url=f"http://{address}") as client:
            trace = await client.get(
                "/api/hooks/conversation/by_trace", params={"trace_id": _ids(ALICE, "trace-shared")}
            )
        alice = await services.store.by_call_id(_ids(ALICE, "call-shared"))
        mallory = await services.store.by_call_id(_ids(MALLORY, "call-shared"))
        raw = await services.store.by_call_id("call-shared")
        master = await services.store.by_call_id("call-master")

    def prompts(records: list[Any]) -> set[str]:
        return {
            r.jsonblob["payload"]["data"]["messages"][0]["content"]
            for r in records
            if r.debug_type_identifier == "hook:async_pre_call_hook"
        }

    assert prompts(alice) == {"alice's plan"}
    assert prompts(mallory) == {"mallory was here"}
    assert raw == [], "a chosen id lands in its key's namespace, never the bare one"
    assert trace.status_code == 200
    assert [c["call_id"] for c in trace.json()["calls"]] == [_ids(ALICE, "call-shared")]
    # The master key's ids are the ones its callers see (README: look a call up by its id).
    assert prompts(master) == {"the operator's call"}
    assert {r.jsonblob["litellm_trace_id"] for r in master} == {"trace-shared"}


async def test_streams_of_two_keys_with_one_chosen_id_are_recorded_apart(
    open_services: OpenServices,
) -> None:
    both_started = asyncio.Barrier(2)

    async def upstream(words: list[str]) -> AsyncIterator[ModelResponseStream]:
        for n, word in enumerate(words):
            if n == 1:
                await both_started.wait()  # both streams are in flight on the link at once
            yield ModelResponseStream(
                **{"id": "s", "model": "demo-long", "choices": [{"index": 0, "delta": {"content": word}}]}
            )

    async def stream(key: UserAPIKeyAuth, words: list[str]) -> list[str | None]:
        hook = callback.async_post_call_streaming_iterator_hook(
            key, upstream(words), hook_data("hi", "call-stream")
        )
        return [chunk.choices[0].delta.content async for chunk in hook]

    async with _live(open_services, NoOpPolicy()) as (address, services):
        callback = await _linked_callback(address)
        got = await asyncio.gather(stream(ALICE, ["a1 ", "a2"]), stream(MALLORY, ["m1 ", "m2"]))
        alice = await _records(services, _ids(ALICE, "call-stream"))
        mallory = await _records(services, _ids(MALLORY, "call-stream"))
        await callback.link.aclose()  # type: ignore[union-attr]
    assert got == [["a1 ", "a2"], ["m1 ", "m2"]]
    summary = "hook_result:async_post_call_streaming_hook"
    assert (alice[summary]["status"], alice[summary]["final_text"]) == ("success", "a1 a2")
    assert (mallory[summary]["status"], mallory[summary]["final_text"]) == ("success", "m1 m2")


def test_the_native_door_keeps_a_trace_id_in_the_master_keys_namespace() -> None:
    assert CallIds.new("my-trace").trace_id == "my-trace"
    mimic = f"{tag_of('some-key-hash')}:their-trace"
    assert CallIds.new(mimic).trace_id == f"{MASTER_TAG}:{mimic}"
