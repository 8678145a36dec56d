"""The native door's hot path does only the work a call needs (issue 22): what the profile removed
must stay removed, and what is recorded must stay the same."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from unittest import mock

import aiohttp
import orjson
import pytest
from aiohttp.http_exceptions import LineTooLong

from luthien_proxy.cli.serve_command import GC_YOUNG_THRESHOLD, tune_gc
from luthien_proxy.control_plane import create_app
from luthien_proxy.doors.native import messages_routes, responses_routes, routes
from luthien_proxy.doors.native.calls import CallIds, NativeCalls
from luthien_proxy.doors.native.forms import OPENAI_CHAT_FORM
from luthien_proxy.doors.native.upstream_wire import lines_of
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.pipeline import CallIdentity
from luthien_proxy.pipeline import stream as stream_module
from luthien_proxy.policies import AllCapsPolicy, NoOpPolicy, PolicyContext
from luthien_proxy.settings import Settings
from luthien_proxy.wire import HOOK_RECORD_PREFIX, RESULT_RECORD_PREFIX, STREAM_CHUNKS_TYPE, STREAM_HOOK
from tests.conftest import OpenServices

SECRET = "sk-" + "a" * 30
CHUNKS = [{"id": "c", "choices": [{"index": 0, "delta": {"content": f"word{i} "}}]} for i in range(5)]


def test_the_data_plane_routes_are_tried_first() -> None:
    """The router walks its routes in order; the native door's came after ~20 others."""
    app = create_app(Settings.from_env({"LUTHIEN_POLICY_CONFIG": ""}, env_file=Path("/nonexistent")))
    hot = [routes.chat_route, responses_routes.responses_route, *messages_routes.messages_routes]
    assert {id(route) for route in app.router.routes[: len(hot)]} == {id(route) for route in hot}


def _recording(services: Any) -> list[tuple[str, dict[str, Any]]]:
    """Every record the recorder is asked to write, as (type, body)."""
    records: list[tuple[str, dict[str, Any]]] = []
    recorder = services.pipeline.recorder
    record = recorder.record

    def spy(debug_type: str, ids: CallIdentity, body: dict[str, Any]) -> None:
        records.append((debug_type, orjson.loads(orjson.dumps(body))))
        record(debug_type, ids, body)

    recorder.record = spy
    return records


async def test_a_request_no_policy_judges_is_not_decoded_and_its_result_record_is_redacted(
    open_services: OpenServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(self: PolicyContext) -> Any:
        raise AssertionError("the request was decoded for a policy that does not read it")

    monkeypatch.setattr(PolicyContext, "request", property(no_decoding))
    services = await open_services(AllCapsPolicy())  # judges responses and streams, not requests
    records = _recording(services)
    request = {"model": "demo-echo", "messages": [{"role": "user", "content": f"key {SECRET}"}]}
    outcome = await services.pipeline.police_request(CallIdentity("call-1", None), request)
    assert outcome.result is not None and outcome.result["data"]["messages"] == request["messages"]
    [result] = [body for kind, body in records if kind.startswith(RESULT_RECORD_PREFIX)]
    assert result["result"] == result["original"]
    assert SECRET not in orjson.dumps(result).decode()
    assert "[REDACTED]" in result["result"]["data"]["messages"][0]["content"]


async def _chunks() -> AsyncIterator[dict[str, Any]]:
    for chunk in CHUNKS:
        yield chunk


async def test_a_pass_through_stream_encodes_each_chunk_once(
    open_services: OpenServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoded: list[Any] = []

    class CountingOrjson:
        Fragment = orjson.Fragment

        @staticmethod
        def dumps(value: Any) -> bytes:
            encoded.append(value)
            return orjson.dumps(value)

    monkeypatch.setattr(stream_module, "orjson", CountingOrjson)
    services = await open_services(NoOpPolicy())
    records = _recording(services)
    sent: list[bytes] = []

    async def send(frame: bytes) -> None:
        sent.append(frame)

    request = {"model": "demo-echo", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with services.pipeline.stream("call-2", request, source="a test") as call:
        end = await call.run(_chunks(), send)
    assert end.status == "success"
    assert [orjson.loads(frame) for frame in sent] == CHUNKS
    assert len([value for value in encoded if value in CHUNKS]) == len(CHUNKS)
    chunk_rows = [row for kind, body in records if kind == STREAM_CHUNKS_TYPE for row in body["chunks"]]
    finals = [row for row in chunk_rows if row[0] == "final_chunk"]
    assert [len(row) for row in finals] == [3] * len(CHUNKS)  # recorded as "same as the original"


def test_tune_gc_freezes_what_exists_and_collects_the_young_less_often() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


class _FakeUpstreams:
    """An upstream that streams `CHUNKS` for any route."""

    @asynccontextmanager
    async def stream(self, *args: Any) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        yield _chunks()


class _Sink:
    started = False

    async def send(self, frame: bytes, *, urgent: bool = False) -> None:
        self.started = True

    async def end(self, frame: bytes) -> None:
        self.started = True


async def test_a_native_stream_records_the_request_redacted_once(
    open_services: OpenServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request hook redacted it; the stream's own record reuses that instead of walking it again."""
    walked: list[Any] = []
    real_redact = stream_module.redact

    def counting(value: dict[str, Any]) -> dict[str, Any]:
        walked.append(value)
        return real_redact(value)

    monkeypatch.setattr(stream_module, "redact", counting)
    services = await open_services(NoOpPolicy())
    records = _recording(services)
    config = {"model_list": [{"model_name": "m", "litellm_params": {"model": "openai/m", "api_base": "x"}}]}
    calls = NativeCalls(services.pipeline, _FakeUpstreams(), routes_from_config(config), OPENAI_CHAT_FORM)  # type: ignore[arg-type]
    body = {"model": "m", "messages": [{"role": "user", "content": f"key {SECRET}"}], "stream": True}
    await calls.stream(body, CallIds.new(None), _Sink())
    assert not [value for value in walked if "messages" in value]
    [started] = [b for kind, b in records if kind == HOOK_RECORD_PREFIX + STREAM_HOOK]
    assert started["payload"]["messages"][0]["content"] == "key [REDACTED]"
    assert started["payload"]["model"] == "m"


def _reader(parts: list[bytes], limit: int = 2**16) -> aiohttp.StreamReader:
    reader = aiohttp.StreamReader(mock.Mock(_reading_paused=False), limit, loop=asyncio.get_running_loop())
    for part in parts:
        reader.feed_data(part)
    reader.feed_eof()
    return reader


@pytest.mark.parametrize(
    "parts",
    [
        [b"event: a\ndata: {}\n\n", b"data: [DONE]\n\n"],
        [b"da", b'ta: {"x"', b": 1}\r\n", b"\r\n", b"data: 2"],  # split lines, CRLF, no final newline
        [b"\n\n\n"],
        [],
    ],
)
async def test_upstream_lines_are_read_a_buffer_at_a_time_as_aiohttp_reads_them(parts: list[bytes]) -> None:
    expected = [line async for line in _reader(parts)]
    assert [line async for line in lines_of(_reader(parts))] == expected


async def test_an_upstream_line_past_the_readers_limit_fails_as_with_aiohttp() -> None:
    parts = [b"data: " + b"x" * 40, b"x" * 40 + b"\n"]
    with pytest.raises(LineTooLong) as theirs:
        _ = [line async for line in _reader(parts, limit=32)]
    with pytest.raises(LineTooLong) as ours:
        _ = [line async for line in lines_of(_reader(parts, limit=32))]
    assert str(ours.value) == str(theirs.value)
