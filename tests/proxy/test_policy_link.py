"""The proxy link (`/api/link`) on both backends: the real callback against a real control plane.

Hooks the policy leaves alone are reported, not asked, and recorded exactly as asked ones are;
hooks it implements are still asked; with the link down every hook is asked again (and fails
closed when the control plane is gone); malformed frames close the link with a reason.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import orjson
import pytest
from fastapi import HTTPException
from litellm.types.utils import ModelResponseStream
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.protocol import State

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.litellm_callback import LuthienCallback
from luthien_proxy.doors.litellm.callback.policy_link import CALL_ORDER, reportable
from luthien_proxy.doors.litellm.link_streams import TABLES, LinkStreams
from luthien_proxy.pipeline.identity import facts_of
from luthien_proxy.policies import (
    AllCapsPolicy,
    LuthienPolicy,
    NoOpPolicy,
    RequestBlocklistPolicy,
    parse_policy_set,
)
from luthien_proxy.wire import POLICY_VERSION_KEY, STREAM_HOOK
from tests.conftest import OpenServices
from tests.proxy.payloads import hook_data, model_response
from tests.support.live_server import serve_app
from tests.support.waiting import eventually

TOKEN = "link-test-token"
SUMMARY = "hook_result:async_post_call_streaming_hook"


@asynccontextmanager
async def _live(
    open_services: OpenServices, policy: LuthienPolicy, **settings: object
) -> AsyncIterator[tuple[str, ControlPlaneServices]]:
    services = await open_services(policy, proxy_token=TOKEN, **settings)
    async with serve_app(create_app(services.settings, services)) as address:
        yield address, services


@asynccontextmanager
async def _link(address: str) -> AsyncIterator[tuple[ClientConnection, dict[str, Any]]]:
    """A raw link socket with the proxy token, and the POLICY frame it opens with."""
    headers = {"x-luthien-proxy-token": TOKEN}
    async with connect(f"ws://{address}/api/link", additional_headers=headers) as ws:
        yield ws, orjson.loads(await ws.recv())


async def _linked_callback(address: str) -> LuthienCallback:
    callback = LuthienCallback(CallbackConfig(control_plane_url=f"http://{address}", proxy_token=TOKEN))
    assert callback.link is not None
    callback.link.may_report("")  # starts the link
    await eventually(_link_up(callback))
    return callback


def _link_up(callback: LuthienCallback) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        assert callback.link is not None
        return callback.link.may_report("async_post_call_failure_hook")

    return check


async def _types(services: ControlPlaneServices, call_id: str) -> list[str]:
    await services.writer.flush()
    return [r.debug_type_identifier for r in await services.store.by_call_id(call_id)]


async def test_policy_frame_names_the_hooks_the_policy_answers(open_services: OpenServices) -> None:
    async with (
        _live(open_services, AllCapsPolicy()) as (address, services),
        _link(address) as (_, hello),
    ):
        version = services.pipeline.policies.current.version
    assert hello == {
        "type": "POLICY",
        "policy": "AllCapsPolicy",
        "version": version,
        "policed": ["async_post_call_success_hook", "async_post_call_streaming_iterator_hook"],
    }


async def test_noop_hooks_are_reported_and_recorded_like_asked_ones(open_services: OpenServices) -> None:
    async with _live(open_services, NoOpPolicy()) as (address, services):
        callback = await _linked_callback(address)
        data = hook_data("hello", "call-reported")
        assert await callback.async_pre_call_hook(None, None, data, "acompletion") is data
        assert await callback.async_post_call_success_hook(data, None, model_response("hi")) is None

        async def both_recorded() -> bool:
            return {"hook_result:async_pre_call_hook", "hook_result:async_post_call_success_hook"} <= set(
                await _types(services, "call-reported")
            )

        await eventually(both_recorded)
        await services.writer.flush()
        records = {
            r.debug_type_identifier: r.jsonblob for r in await services.store.by_call_id("call-reported")
        }
        await callback.link.aclose()  # type: ignore[union-attr]
    assert callback.client.http.current is None, "no hook was asked over HTTP"
    assert records["hook:async_pre_call_hook"]["payload"]["data"]["messages"][0]["content"] == "hello"
    assert "sk-master-secret" not in orjson.dumps(records).decode()
    assert (
        records["hook_result:async_post_call_success_hook"]["result"]["response"]["choices"][0]["message"][
            "content"
        ]
        == "hi"
    )


async def test_hooks_the_policy_implements_are_still_asked(open_services: OpenServices) -> None:
    async with _live(open_services, AllCapsPolicy()) as (address, services):
        callback = await _linked_callback(address)
        data = hook_data("hello", "call-asked")
        await callback.async_pre_call_hook(None, None, data, "acompletion")
        asked_http = callback.client.http.current is not None
        policed = await callback.async_post_call_success_hook(data, None, model_response("quiet words"))
        await callback.link.aclose()  # type: ignore[union-attr]
        await callback.client.aclose()
        order = [t for t in await _types(services, "call-asked") if t.startswith("hook:")]
    assert asked_http, "the pre-call hook comes before a hook AllCaps answers, so it is asked"
    assert policed is not None
    assert policed.choices[0].message.content == "QUIET WORDS"
    assert order == ["hook:async_pre_call_hook", "hook:async_post_call_success_hook"]


async def test_a_request_screen_is_asked_and_the_rest_reported(open_services: OpenServices) -> None:
    async with _live(open_services, RequestBlocklistPolicy(patterns=["forbidden"])) as (address, _services):
        callback = await _linked_callback(address)
        with pytest.raises(HTTPException) as refused:
            await callback.async_pre_call_hook(
                None, None, hook_data("a forbidden word", "call-screened"), "x"
            )
        assert callback.link is not None
        reported = {hook for hook in CALL_ORDER if callback.link.may_report(hook)}
        await callback.link.aclose()
        await callback.client.aclose()
    assert refused.value.status_code == 403
    assert reported == {
        "async_moderation_hook",
        "async_post_call_success_hook",
        STREAM_HOOK,
        "async_post_call_failure_hook",
    }


@pytest.mark.parametrize(
    ("policed", "reported"),
    [
        ([], set(CALL_ORDER)),
        (["async_pre_call_hook"], set(CALL_ORDER) - {"async_pre_call_hook"}),
        (
            ["async_moderation_hook"],
            {"async_post_call_success_hook", STREAM_HOOK, "async_post_call_failure_hook"},
        ),
        ([STREAM_HOOK], {"async_post_call_failure_hook"}),
        (["async_post_call_success_hook", STREAM_HOOK], {"async_post_call_failure_hook"}),
        (["a_hook_from_a_newer_control_plane"], set()),
    ],
)
def test_only_hooks_after_the_last_answered_one_are_reported(policed: list[str], reported: set[str]) -> None:
    assert reportable(policed) == reported


async def test_a_relayed_stream_is_recorded_chunk_by_chunk(open_services: OpenServices) -> None:
    words = ["one ", "two ", "three"]

    async def upstream() -> AsyncIterator[ModelResponseStream]:
        for word in words:
            yield ModelResponseStream(
                **{"id": "s1", "model": "demo-long", "choices": [{"index": 0, "delta": {"content": word}}]}
            )

    async with _live(open_services, NoOpPolicy()) as (address, services):
        callback = await _linked_callback(address)
        data = hook_data("hello", "call-relayed")
        hook = callback.async_post_call_streaming_iterator_hook(None, upstream(), data)
        got = [chunk.choices[0].delta.content async for chunk in hook]
        records = await _records(services, "call-relayed")
        await callback.link.aclose()  # type: ignore[union-attr]
    assert got == words
    done = records[SUMMARY]
    assert (done["status"], done["original_text"], done["final_text"]) == (
        "success",
        "one two three",
        "one two three",
    )
    assert (done["chunks_received"], done["chunks_sent"]) == (3, 3)


async def test_link_down_means_asking_and_asking_fails_closed(open_services: OpenServices) -> None:
    async with _live(open_services, NoOpPolicy()) as (address, _services):
        callback = await _linked_callback(address)
    # The server is gone: the link notices and every hook is asked again, which fails closed.
    assert callback.link is not None
    await eventually(lambda: _not(callback.link.may_report("async_pre_call_hook")))  # type: ignore[union-attr]
    with pytest.raises(HTTPException) as blocked:
        await callback.async_pre_call_hook(None, None, hook_data("hello", "call-blocked"), "acompletion")
    await callback.link.aclose()
    assert blocked.value.status_code == 503
    assert "fail-closed" in str(blocked.value.detail)


async def _not(value: bool) -> bool:
    return not value


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": "HELLO"}', "type RECORDS"),
        (b'{"type": "RECORDS", "items": [{"hook": "no_such_hook", "payload": {}}]}', "known 'hook'"),
        (b'{"type": "RECORDS", "items": [{"stream": "chunk", "chunk": {}}]}', "non-empty string 'id'"),
        (b'{"type": "RECORDS", "items": [{"stream": "restart", "id": "s"}]}', "bad stream item"),
    ],
)
async def test_malformed_frames_close_the_link_with_a_reason(
    open_services: OpenServices, frame: bytes, reason: str
) -> None:
    async with (
        _live(open_services, NoOpPolicy()) as (address, _services),
        _link(address) as (ws, _),
    ):
        await ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
        # The control plane keeps serving: a new link gets its POLICY frame.
        async with _link(address) as (_, hello):
            assert hello["type"] == "POLICY"
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1002
    assert reason in closed.value.rcvd.reason


async def test_a_link_without_the_proxy_token_is_refused(open_services: OpenServices) -> None:
    async with _live(open_services, NoOpPolicy()) as (address, _services):
        with pytest.raises(InvalidStatus) as refused:
            await connect(f"ws://{address}/api/link")
    assert refused.value.response.status_code == 403


async def test_a_stream_the_link_drops_is_recorded_as_disconnected(open_services: OpenServices) -> None:
    async with _live(open_services, NoOpPolicy()) as (address, services):
        async with _link(address) as (ws, _):
            await _send(ws, _start("call-dropped"), _chunk("call-dropped", "half"))
        records = await _records(services, "call-dropped")
    done = records[SUMMARY]
    assert (done["status"], done["final_text"]) == ("disconnected", "half")


async def _records(services: ControlPlaneServices, call_id: str) -> dict[str, Any]:
    """The call's records by type, once its stream summary is written."""

    async def summary() -> bool:
        return SUMMARY in await _types(services, call_id)

    await eventually(summary)
    return {r.debug_type_identifier: r.jsonblob for r in await services.store.by_call_id(call_id)}


def _start(stream_id: str) -> dict[str, Any]:
    return {"stream": "start", "id": stream_id, "request": {"litellm_call_id": stream_id}}


def _chunk(stream_id: str, text: Any) -> dict[str, Any]:
    return {"stream": "chunk", "id": stream_id, "chunk": {"choices": [{"delta": {"content": text}}]}}


async def _send(ws: ClientConnection, *items: dict[str, Any]) -> None:
    await ws.send(orjson.dumps({"type": "RECORDS", "items": list(items)}))


def _table(services: ControlPlaneServices) -> LinkStreams:
    (table,) = [t for t in TABLES if t.door.pipeline is services.pipeline]
    return table


async def test_a_malformed_stream_item_ends_that_stream_only(open_services: OpenServices) -> None:
    async with _live(open_services, NoOpPolicy()) as (address, services), _link(address) as (ws, _):
        await _send(
            ws,
            _start("bad-one"),
            _start("good-one"),
            _chunk("bad-one", "half"),
            _chunk("good-one", "one "),
        )
        await _send(
            ws, {"stream": "chunk", "id": "bad-one", "chunk": "not an object"}, _chunk("bad-one", "x")
        )
        await _send(ws, _chunk("good-one", "two"), {"stream": "end", "id": "good-one", "status": "success"})
        bad, good = await _records(services, "bad-one"), await _records(services, "good-one")
        assert ws.state is State.OPEN
    bad_done, good_done = bad[SUMMARY], good[SUMMARY]
    assert (bad_done["status"], bad_done["final_text"]) == ("error", "half")
    assert "'chunk' must be an object" in bad_done["error"]
    assert (good_done["status"], good_done["final_text"], good_done["error"]) == ("success", "one two", None)


async def test_streams_past_the_link_limit_are_recorded_as_errors(open_services: OpenServices) -> None:
    async with (
        _live(open_services, NoOpPolicy(), link_max_streams=2) as (address, services),
        _link(address) as (ws, _),
    ):
        await _send(ws, _start("lim-1"), _start("lim-2"), _start("lim-3"), _chunk("lim-3", "lost"))
        excess = await _records(services, "lim-3")
        assert set(_table(services).open) == {"lim-1", "lim-2"}
        ends = [{"stream": "end", "id": f"lim-{n}", "status": "success"} for n in (1, 2, 3)]
        await _send(ws, _chunk("lim-1", "a"), _chunk("lim-2", "b"), *ends)
        first, second = await _records(services, "lim-1"), await _records(services, "lim-2")
    assert excess[SUMMARY]["status"] == "error"
    assert "LUTHIEN_LINK_MAX_STREAMS=2" in excess[SUMMARY]["error"]
    assert excess[SUMMARY]["chunks_received"] == 0
    assert [(r[SUMMARY]["status"], r[SUMMARY]["final_text"]) for r in (first, second)] == [
        ("success", "a"),
        ("success", "b"),
    ]


async def test_an_idle_stream_is_ended_and_released(open_services: OpenServices) -> None:
    async with (
        _live(open_services, NoOpPolicy(), stream_idle_timeout_seconds=0.4) as (address, services),
        _link(address) as (ws, _),
    ):
        await _send(ws, _start("idle-1"), _chunk("idle-1", "half"))
        await eventually(lambda: _has(_table(services).open, "idle-1"))
        held = weakref.ref(_table(services).open["idle-1"])
        records = await _records(services, "idle-1")
        table = _table(services)
        assert table.open == {}
        await eventually(lambda: _released(held))  # once its summary is written, nothing holds it
        await _send(ws, _chunk("idle-1", "late"))  # a chunk after the end is ignored, the link stays
        await eventually(lambda: _ignored(table))
        assert ws.state is State.OPEN
    done = records[SUMMARY]
    assert (done["status"], done["final_text"]) == ("timeout", "half")
    assert "idle timeout" in done["error"]


async def _has(table: dict[str, Any], key: str) -> bool:
    return key in table


async def _released(ref: weakref.ref[Any]) -> bool:
    gc.collect()
    return ref() is None


async def _ignored(table: LinkStreams) -> bool:
    return table.ignored == 1


async def _result_policy(services: ControlPlaneServices, call_id: str, hook: str) -> dict[str, Any]:
    async def recorded() -> dict[str, Any] | None:
        await services.writer.flush()
        for record in await services.store.by_call_id(call_id):
            if record.debug_type_identifier == f"hook_result:{hook}":
                return record.jsonblob["policy"]
        return None

    return await eventually(recorded)


async def test_a_policy_change_mid_call_leaves_the_call_on_its_policy_on_both_sides(
    open_services: OpenServices,
) -> None:
    """NoOp -> AllCaps while a call is between its hooks: the callback reports the rest of that call
    as NoOp let it (its frame is the one it started under), the control plane runs it on NoOp (the
    version the callback names), and the next call is asked and upper-cased."""
    async with _live(open_services, NoOpPolicy()) as (address, services):
        callback = await _linked_callback(address)
        assert callback.link is not None
        before = hook_data("hello", "call-before-change")
        await callback.async_pre_call_hook(None, None, before, "acompletion")  # reported
        old = services.pipeline.policies.current.version
        services.pipeline.policies.swap(
            parse_policy_set('policy: {class: "luthien_proxy.policies:AllCapsPolicy"}')
        )
        new = services.pipeline.policies.current.version

        async def learned() -> bool:
            policy = callback.link.policy_of(None)  # type: ignore[union-attr]
            return policy is not None and policy.version == new

        await eventually(learned)  # a new POLICY frame on the same link
        assert await callback.async_post_call_success_hook(before, None, model_response("hi")) is None
        assert callback.client.http.current is None, "the call begun under NoOp is still reported"
        after = hook_data("hello", "call-after-change")
        await callback.async_pre_call_hook(None, None, after, "acompletion")
        policed = await callback.async_post_call_success_hook(after, None, model_response("hi"))
        assert policed is not None and policed.choices[0].message.content == "HI"
        kept = await _result_policy(services, "call-before-change", "async_post_call_success_hook")
        moved = await _result_policy(services, "call-after-change", "async_post_call_success_hook")
        # A report stamped with the old version that arrives after the change starts on the old one.
        late = {"data": hook_data("hello", "call-late"), POLICY_VERSION_KEY: old}
        await services.pipeline.run_hook("async_pre_call_hook", late)
        late_choice = services.pipeline.policies.of("call-late", facts_of(late))
        await callback.link.aclose()
        await callback.client.aclose()
    assert (kept["version"], kept["name"]) == (old, "NoOpPolicy")
    assert (moved["version"], moved["name"]) == (new, "AllCapsPolicy")
    assert late_choice.version == old
