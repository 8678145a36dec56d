"""The `/stream/{stream_id}` WebSocket on both backends: policing, context keys, events, errors."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from luthien_proxy.backends.events import call_channel, trace_channel
from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.model import Passthrough, StreamEvent, TextDelta
from luthien_proxy.policies import (
    AllCapsPolicy,
    BufferedStreamPolicy,
    DropChunksPolicy,
    LuthienPolicy,
    NoOpPolicy,
    PolicyContext,
    PolicyRejection,
    StreamingSeparatorPolicy,
)
from luthien_proxy.read.conversation.replay import replay_events
from tests.conftest import OpenServices
from tests.support.live_server import serve_app
from tests.support.stream_client import (
    receive_until_end,
    run_stream,
    send_frame,
    stream_request,
    text_chunk,
    texts,
)

WORDS = ["The ", "quick ", "brown ", "fox ", "jumps"]

Live = Callable[..., AbstractAsyncContextManager[tuple[str, ControlPlaneServices]]]


@pytest.fixture
def live(open_services: OpenServices) -> Live:
    """Open services with a policy and settings overrides, and serve them on a real port."""

    @asynccontextmanager
    async def start(policy: LuthienPolicy | None = None, **overrides: Any) -> AsyncIterator[tuple[str, Any]]:
        services = await open_services(policy or NoOpPolicy(), **overrides)
        async with serve_app(create_app(services.settings, services)) as address:
            yield address, services

    return start


class InjectingPolicy(LuthienPolicy):
    """Adds a chunk before the first and one after the last: output is not 1:1 with input."""

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        started = False
        async for event in events:
            if not started:
                started = True
                yield TextDelta("[policed] ")
            yield event
        if started:
            yield TextDelta(f" [{len(await ctx.accumulated_text())} chars so far]")


class FailingPolicy(LuthienPolicy):
    """Raises on the third chunk."""

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in events:
            if ctx.chunks_received == 3:
                raise RuntimeError("judge exploded")
            yield event


class RefuseAfterTwoPolicy(LuthienPolicy):
    """Refuses the stream on its third chunk, as a judge would on a bad tool call."""

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in events:
            if ctx.chunks_received == 3:
                raise PolicyRejection("tool call blocked by policy", status_code=451)
            yield event


class SlowJudgePolicy(LuthienPolicy):
    """Takes `seconds` over every chunk, as a policy waiting on a slow judge would."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in events:
            await asyncio.sleep(self.seconds)
            yield event


class HangingPolicy(LuthienPolicy):
    """Never yields: stands for a policy stuck on a slow dependency."""

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        await asyncio.Event().wait()
        yield Passthrough({})


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (NoOpPolicy(), WORDS),
        (AllCapsPolicy(), [w.upper() for w in WORDS]),
        (DropChunksPolicy(pattern="brown|fox"), ["The ", "quick ", "jumps"]),
        (BufferedStreamPolicy(), ["The quick brown fox jumps"]),
        (
            StreamingSeparatorPolicy(every_n=2, separator_str="|"),
            ["The ", "quick |", "brown ", "fox |", "jumps"],
        ),
        (InjectingPolicy(), ["[policed] ", *WORDS, " [35 chars so far]"]),
    ],
    ids=["pass", "edit", "drop", "buffer-all", "separator", "inject"],
)
async def test_round_trip_through_each_policy(live: Live, policy: LuthienPolicy, expected: list[str]) -> None:
    async with live(policy) as (address, services):
        result = await run_stream(address, "rt-call", WORDS)
        assert result.end == {"type": "END"}
        assert texts(result.chunks) == expected
        summary = await _wait_for_summary(services, "rt-call")
    assert summary["original_text"] == "".join(WORDS)
    assert summary["final_text"] == "".join(expected)
    assert summary["status"] == "success"
    assert summary["litellm_call_id"] == "rt-call"


async def test_output_flows_while_input_is_still_arriving(live: Live) -> None:
    async with live(AllCapsPolicy()) as (address, _), connect(f"ws://{address}/stream/duplex") as ws:
        await send_frame(ws, {"type": "START", "data": stream_request("duplex")})
        for n, word in enumerate(WORDS):
            await send_frame(ws, {"type": "CHUNK", "data": text_chunk(word, "duplex", n)})
            frame = orjson.loads(await asyncio.wait_for(ws.recv(), 5))
            assert texts([frame["data"]]) == [word.upper()], "each chunk comes back before the next is sent"
        await send_frame(ws, {"type": "END"})
        assert orjson.loads(await ws.recv()) == {"type": "END"}


async def test_long_stream_keeps_order(live: Live) -> None:
    pieces = [f"{n} " for n in range(300)]
    async with live() as (address, _):
        result = await run_stream(address, "order", pieces)
    assert texts(result.chunks) == pieces


async def test_fifty_concurrent_streams_do_not_cross(live: Live) -> None:
    async with live(AllCapsPolicy()) as (address, services):
        results = await asyncio.gather(
            *(run_stream(address, f"cc-{n}", [f"s{n}-{k} " for k in range(20)]) for n in range(50))
        )
        for n, result in enumerate(results):
            assert result.text == "".join(f"S{n}-{k} " for k in range(20))
        summaries = [await _wait_for_summary(services, f"cc-{n}") for n in range(50)]
    assert {s["litellm_call_id"]: s["final_text"] for s in summaries} == {
        f"cc-{n}": "".join(f"S{n}-{k} " for k in range(20)) for n in range(50)
    }


async def test_events_arrive_on_call_and_trace_channels_in_sequence(live: Live) -> None:
    async with (
        live(DropChunksPolicy(pattern="fox")) as (address, services),
        services.bus.subscribe((call_channel("ev-call"),)) as by_call,
        services.bus.subscribe((trace_channel("ev-trace"),)) as by_trace,
    ):
        await run_stream(address, "ev-call", WORDS, trace_id="ev-trace")
        await services.bus.flush()
        call_events = await _collect_until_completed(by_call)
        trace_events = await _collect_until_completed(by_trace)
    assert call_events == trace_events
    assert [e["sequence"] for e in call_events] == list(range(len(call_events)))
    kinds = [e["type"] for e in call_events]
    assert kinds.count("original_chunk") == 5 and kinds.count("final_chunk") == 4
    assert kinds[-1] == "request_completed"
    originals = [e["payload"]["chunk"] for e in call_events if e["type"] == "original_chunk"]
    assert texts(originals) == WORDS
    completed = call_events[-1]["payload"]
    assert completed["original_text"] == "The quick brown fox jumps"
    assert completed["final_text"] == "The quick brown jumps"


async def _collect_until_completed(subscription: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while not events or events[-1]["type"] != "request_completed":
        message = await subscription.get(timeout=5)
        assert message is not None, f"stream events stopped after {[e['type'] for e in events]}"
        events.append(orjson.loads(message))
    return events


async def test_chunk_debug_records_are_written(live: Live) -> None:
    async with live(AllCapsPolicy()) as (address, services):
        await run_stream(address, "rec-call", WORDS)
        await _wait_for_summary(services, "rec-call")
        records = await services.store.by_call_id("rec-call")
    kinds = [r.debug_type_identifier for r in records]
    batched = [
        entry for r in records if r.debug_type_identifier == "stream:chunks" for entry in r.jsonblob["chunks"]
    ]
    assert [kind for kind, *_ in batched].count("original_chunk") == 5
    assert [kind for kind, *_ in batched].count("final_chunk") == 5
    assert texts([chunk for kind, _, _, chunk in batched if kind == "final_chunk"]) == [
        w.upper() for w in WORDS
    ]
    assert kinds[0] == "hook:async_post_call_streaming_iterator_hook"
    assert kinds[-2:] == ["hook_result:async_post_call_streaming_hook", "call:summary"]


async def test_a_passed_through_stream_is_stored_once_and_replays_whole(live: Live) -> None:
    async with live(NoOpPolicy()) as (address, services):
        await run_stream(address, "same-call", WORDS)
        await _wait_for_summary(services, "same-call")
        records = await services.store.by_call_id("same-call")
    batched = [
        entry for r in records if r.debug_type_identifier == "stream:chunks" for entry in r.jsonblob["chunks"]
    ]
    finals = [entry for entry in batched if entry[0] == "final_chunk"]
    assert [len(entry) for entry in finals] == [3] * 5, "final chunks equal to their originals carry no body"
    replayed = [e for e in replay_events(records) if e["type"] in ("original_chunk", "final_chunk")]
    originals = [e["payload"]["chunk"] for e in replayed if e["type"] == "original_chunk"]
    assert [e["payload"]["chunk"] for e in replayed if e["type"] == "final_chunk"] == originals
    assert texts(originals) == WORDS


async def test_context_keys_live_during_the_stream_and_are_cleared_at_end(live: Live) -> None:
    async with live() as (address, services), connect(f"ws://{address}/stream/keys-end") as ws:
        await send_frame(ws, {"type": "START", "data": stream_request("keys-end")})
        await send_frame(ws, {"type": "CHUNK", "data": text_chunk("abc ", "keys-end")})
        await asyncio.wait_for(ws.recv(), 5)
        assert await services.stream_context.get_text("keys-end") == "abc "
        assert await services.stream_context.get_index("keys-end") == 1
        await send_frame(ws, {"type": "CHUNK", "data": text_chunk("def", "keys-end")})
        await send_frame(ws, {"type": "END"})
        result = await receive_until_end(ws)
        assert result.end == {"type": "END"}
        await _wait_until_cleared(services, "keys-end")


async def test_policy_failure_ends_with_error_and_clears_keys(live: Live) -> None:
    async with live(FailingPolicy()) as (address, services):
        result = await run_stream(address, "boom", WORDS)
        assert result.end is not None and result.end["type"] == "ERROR"
        assert "FailingPolicy failed: RuntimeError: judge exploded" in result.end["error"]
        assert texts(result.chunks) == WORDS[:2]
        await _wait_until_cleared(services, "boom")
        summary = await _wait_for_summary(services, "boom")
    assert summary["status"] == "error"
    assert "judge exploded" in summary["error"]


async def test_policy_rejection_sends_reject_with_its_status(live: Live) -> None:
    async with live(RefuseAfterTwoPolicy()) as (address, services):
        result = await run_stream(address, "refused", WORDS)
        assert result.end == {"type": "REJECT", "error": "tool call blocked by policy", "status_code": 451}
        assert texts(result.chunks) == WORDS[:2]
        summary = await _wait_for_summary(services, "refused")
    assert summary["status"] == "rejected"


async def test_error_frame_survives_a_proxy_that_keeps_sending(live: Live) -> None:
    async with live(FailingPolicy()) as (address, _), connect(f"ws://{address}/stream/keeps") as ws:
        await send_frame(ws, {"type": "START", "data": stream_request("keeps")})
        sender = asyncio.create_task(_flood(ws, "keeps"))
        result = await asyncio.wait_for(receive_until_end(ws), 10)
        sender.cancel()
    assert result.end is not None and result.end["type"] == "ERROR"
    assert "judge exploded" in result.end["error"]


async def _flood(ws: Any, call_id: str) -> None:
    """Keep sending chunks, as a proxy relaying a long upstream stream does."""
    with contextlib.suppress(ConnectionClosed):
        for n in range(100_000):
            await send_frame(ws, {"type": "CHUNK", "data": text_chunk(f"w{n} ", call_id, n)})
            await asyncio.sleep(0)  # a send into a free buffer never yields: let the server run


async def test_upstream_error_frame_ends_the_stream(live: Live) -> None:
    async with live() as (address, services), connect(f"ws://{address}/stream/up-err") as ws:
        await send_frame(ws, {"type": "START", "data": stream_request("up-err")})
        await send_frame(ws, {"type": "CHUNK", "data": text_chunk("partial", "up-err")})
        await send_frame(ws, {"type": "ERROR", "error": "provider returned 500"})
        result = await receive_until_end(ws)
        assert result.end is not None and "provider returned 500" in result.end["error"]
        await _wait_until_cleared(services, "up-err")


async def test_dropped_connection_clears_keys(live: Live) -> None:
    async with live() as (address, services):
        async with connect(f"ws://{address}/stream/dropped") as ws:
            await send_frame(ws, {"type": "START", "data": stream_request("dropped")})
            await send_frame(ws, {"type": "CHUNK", "data": text_chunk("half", "dropped")})
            await asyncio.wait_for(ws.recv(), 5)
            assert await services.stream_context.exists("dropped")
        await _wait_until_cleared(services, "dropped")
        summary = await _wait_for_summary(services, "dropped")
    assert summary["status"] == "disconnected"


async def test_idle_timeout_ends_the_stream(live: Live) -> None:
    async with live(stream_idle_timeout_seconds=0.3) as (address, services):
        async with connect(f"ws://{address}/stream/idle") as ws:
            await send_frame(ws, {"type": "START", "data": stream_request("idle")})
            await send_frame(ws, {"type": "CHUNK", "data": text_chunk("only", "idle")})
            result = await asyncio.wait_for(receive_until_end(ws), 5)
        assert (
            result.end is not None
            and "no chunk from the proxy for 0.3s (idle timeout)" in result.end["error"]
        )
        await _wait_until_cleared(services, "idle")
        summary = await _wait_for_summary(services, "idle")
    assert (summary["status"], summary["final_text"]) == ("timeout", "only")


async def test_time_the_policy_takes_does_not_count_as_idle(live: Live) -> None:
    # Each chunk takes the policy longer than the idle timeout; the proxy is never idle that long.
    async with live(SlowJudgePolicy(0.4), stream_idle_timeout_seconds=0.3) as (address, services):
        result = await asyncio.wait_for(run_stream(address, "slow-judge", WORDS[:3]), 10)
        summary = await _wait_for_summary(services, "slow-judge")
    assert result.end == {"type": "END"}
    assert (summary["status"], summary["final_text"]) == ("success", "".join(WORDS[:3]))


async def test_total_timeout_ends_a_stuck_policy(live: Live) -> None:
    async with live(HangingPolicy(), stream_total_timeout_seconds=0.5) as (address, _):
        result = await asyncio.wait_for(run_stream(address, "stuck", WORDS), 5)
    assert result.end is not None and "total timeout of 0.5s" in result.end["error"]


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        (["not json at all"], "not valid JSON"),
        ([b'{"type": "HELLO"}'], "unknown frame type 'HELLO'"),
        ([b'{"type": "CHUNK", "data": {}}'], "first frame must be START"),
        ([b'{"type": "START", "data": [1]}'], "START frame needs a JSON object"),
        ([b"[1, 2, 3]"], "must be a JSON object"),
        ([b'{"type": "START", "data": {"x": ' + b"[" * 300 + b"]" * 300 + b"}}"], "deeper than 100 levels"),
        ([b'{"type": "START", "data": {}}', b'{"type": "START", "data": {}}'], "START sent twice"),
        (
            [b'{"type": "START", "data": {}}', b'{"type": "CHUNK", "data": "x"}'],
            "CHUNK frame needs a JSON object",
        ),
    ],
)
async def test_protocol_violations_close_1002_and_others_keep_streaming(
    live: Live, frames: list[Any], reason: str
) -> None:
    async with live() as (address, _), connect(f"ws://{address}/stream/healthy") as healthy:
        await send_frame(healthy, {"type": "START", "data": stream_request("healthy")})
        async with connect(f"ws://{address}/stream/bad") as bad:
            for frame in frames:
                await bad.send(frame)
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(bad.recv(), 5)
        assert closed.value.rcvd is not None
        assert closed.value.rcvd.code == 1002
        assert reason in closed.value.rcvd.reason
        await send_frame(healthy, {"type": "CHUNK", "data": text_chunk("still here", "healthy")})
        await send_frame(healthy, {"type": "END"})
        result = await receive_until_end(healthy)
    assert result.text == "still here" and result.end == {"type": "END"}


async def test_stream_requires_the_proxy_token_when_set(live: Live) -> None:
    async with live(proxy_token="tok-123") as (address, _):
        with pytest.raises(Exception) as refused:
            await run_stream(address, "no-token", WORDS)
        result = await run_stream(address, "with-token", WORDS, headers={"x-luthien-proxy-token": "tok-123"})
    assert "403" in str(refused.value) or "1008" in str(refused.value)
    assert result.text == "".join(WORDS)


async def _wait_until_cleared(services: ControlPlaneServices, call_id: str, timeout: float = 5) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while await services.stream_context.exists(call_id):
        assert loop.time() < deadline, f"stream context for {call_id} still present after {timeout}s"
        await asyncio.sleep(0.02)


async def _wait_for_summary(services: ControlPlaneServices, call_id: str) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        await services.writer.flush()
        for record in await services.store.by_call_id(call_id):
            if record.debug_type_identifier == "hook_result:async_post_call_streaming_hook":
                return record.jsonblob
        assert loop.time() < deadline, "no stream summary recorded"
        await asyncio.sleep(0.02)
