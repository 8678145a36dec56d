"""The load generator's answer checks for both APIs: a whole answer passes with its text and chunk
count, and every way a stream can be cut short or malformed is caught (a bench figure from a broken
answer would be worthless)."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
import pytest

from luthien_proxy.tooling.bench import apis
from luthien_proxy.tooling.bench.apis import ANTHROPIC, APIS, OPENAI, AnthropicStream, Invalid, OpenAIStream
from luthien_proxy.tooling.bench.exchange import _read_completion, _read_stream
from luthien_proxy.tooling.bench.http_client import Connection, Response
from luthien_proxy.tooling.bench.workloads import STREAM_CHUNKS, WORKLOADS, expected_text, request_payload
from luthien_proxy.tooling.demo_upstream import anthropic_wire
from luthien_proxy.tooling.demo_upstream.answers import Answer
from luthien_proxy.tooling.demo_upstream.responses import long_pieces

STREAM = next(w for w in WORKLOADS if w.stream)
TEXT = expected_text(STREAM, 0, upper=False)


def _frames() -> list[bytes]:
    """The demo upstream's own SSE events for the bench's stream (message_start ... message_stop)."""
    return list(anthropic_wire.stream_frames("demo-long", Answer(tuple(long_pieces(STREAM_CHUNKS))), 5))


def _events(frames: list[bytes]) -> list[bytes]:
    return [f.removesuffix(b"\n\n") for f in frames]


def _feed_all(check: apis.StreamCheck, events: list[bytes]) -> list[str]:
    texts = [t for t in (check.feed(e) for e in events) if t]
    check.finish(len(texts))
    return texts


def _event(value: dict[str, Any], name: str | None = None) -> bytes:
    return b"event: " + (name or value["type"]).encode() + b"\ndata: " + orjson.dumps(value)


def test_anthropic_check_reads_the_demo_upstreams_stream_whole() -> None:
    texts = _feed_all(AnthropicStream(), _events(_frames()))
    assert len(texts) == STREAM_CHUNKS and "".join(texts) == TEXT


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ev: ev[:-1], "without message_stop"),
        (lambda ev: [*ev, _event({"type": "ping"})], "after message_stop"),
        (lambda ev: ev[1:], "before message_start"),
        (lambda ev: [ev[0], ev[0], *ev[1:]], "a second message_start"),
        (lambda ev: [ev[0], *ev[3:]], "not open"),  # start and ping dropped: deltas of no block
        (
            lambda ev: [ev[0], _event({"type": "content_block_start", "index": 0}, "ping"), *ev[1:]],
            "event line",
        ),
        (
            lambda ev: [*ev[:3], _event({"type": "error", "error": {"type": "overloaded_error"}}), *ev[3:]],
            "overloaded_error",
        ),
    ],
)
def test_anthropic_check_rejects_a_broken_stream(mutate: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        _feed_all(AnthropicStream(), mutate(_events(_frames())))


def test_anthropic_check_rejects_a_stream_that_stopped_for_a_tool() -> None:
    events = [e.replace(b'"stop_reason":"end_turn"', b'"stop_reason":"tool_use"') for e in _events(_frames())]
    with pytest.raises(Invalid, match="tool_use"):
        _feed_all(AnthropicStream(), events)


def test_openai_check_wants_done_last_and_only_once() -> None:
    chunk = b'data: {"choices":[{"delta":{"content":"x"}}]}'
    assert _feed_all(OpenAIStream(), [chunk, b"data: [DONE]"]) == ["x"]
    with pytest.raises(Invalid, match="without \\[DONE\\]"):
        _feed_all(OpenAIStream(), [chunk])
    with pytest.raises(Invalid, match="after \\[DONE\\]"):
        _feed_all(OpenAIStream(), [chunk, b"data: [DONE]", chunk])


def test_each_api_asks_in_its_own_shape() -> None:
    anthropic, openai = APIS[ANTHROPIC], APIS[OPENAI]
    assert anthropic.path == "/v1/messages" and openai.path == "/v1/chat/completions"
    assert anthropic.auth("k") == {"x-api-key": "k", "anthropic-version": apis.ANTHROPIC_VERSION}
    assert openai.auth("k") == {"authorization": "Bearer k"}
    body = orjson.loads(anthropic.body(request_payload(STREAM, 3)))
    assert body["max_tokens"] == apis.MAX_TOKENS and body["stream"] is True
    assert body["demo_chunks"] == STREAM_CHUNKS and "max_tokens" not in orjson.loads(openai.body({}))


def _response(body: bytes) -> Response:
    """A response whose body is `body`, read through the client's own framing (Content-Length)."""
    reader = asyncio.StreamReader()
    reader.feed_data(body)
    reader.feed_eof()
    conn = Connection(reader, cast(asyncio.StreamWriter, None))
    return Response(200, {"content-length": str(len(body))}, conn, True)


async def test_exchange_reads_an_anthropic_stream_and_times_its_first_text() -> None:
    first, chunks = await _read_stream(_response(b"".join(_frames())), APIS[ANTHROPIC], TEXT, 0.0)
    assert chunks == STREAM_CHUNKS and first is not None and first > 0
    with pytest.raises(Invalid, match="wrong stream content"):
        await _read_stream(_response(b"".join(_frames())), APIS[ANTHROPIC], TEXT.upper(), 0.0)


async def test_exchange_reads_an_anthropic_message() -> None:
    workload = next(w for w in WORKLOADS if not w.stream)
    text = expected_text(workload, 7, upper=False)
    body = anthropic_wire.message_body("demo-echo", Answer((text,)), 3)
    await _read_completion(_response(body), APIS[ANTHROPIC], text)
    with pytest.raises(Invalid, match="wrong content"):
        await _read_completion(_response(body), APIS[ANTHROPIC], text.upper())
    unfinished = body.replace(b'"end_turn"', b'"max_tokens"')
    with pytest.raises(Invalid, match="not a finished message"):
        await _read_completion(_response(unfinished), APIS[ANTHROPIC], text)
