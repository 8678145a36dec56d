"""The load generator's answer checks for every API: a whole answer passes with its text and chunk
count, and every way a stream can be cut short or malformed is caught (a bench figure from a broken
answer would be worthless)."""

from __future__ import annotations

import asyncio
import copy
from typing import Any, cast

import httpx
import orjson
import pytest

from luthien_proxy.tooling.bench import apis
from luthien_proxy.tooling.bench.apis import (
    ANTHROPIC,
    APIS,
    OPENAI,
    RESPONSES,
    AnthropicStream,
    Invalid,
    OpenAIStream,
)
from luthien_proxy.tooling.bench.exchange import _read_completion, _read_stream
from luthien_proxy.tooling.bench.http_client import Connection, Response
from luthien_proxy.tooling.bench.responses_api import ResponsesStream
from luthien_proxy.tooling.bench.workloads import (
    STREAM_CHUNKS,
    TOOL,
    TOOL_NAME,
    WORKLOAD_BY_KEY,
    WORKLOADS,
    Expected,
    Workload,
    command,
    expected,
    expected_text,
    request_payload,
)
from luthien_proxy.tooling.demo_upstream import DemoDefaults, anthropic_wire, create_app
from luthien_proxy.tooling.demo_upstream import openai_responses_wire as rw
from luthien_proxy.tooling.demo_upstream.answers import Answer, Call, Turn, script
from luthien_proxy.tooling.demo_upstream.responses import long_pieces

STREAM = next(w for w in WORKLOADS if w.stream)
TEXT = expected_text(STREAM, 0, upper=False)
WHOLE = Expected(TEXT, chunks=STREAM_CHUNKS)
SHOUTED = Expected(TEXT.upper(), chunks=STREAM_CHUNKS)


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
    first, chunks = await _read_stream(_response(b"".join(_frames())), APIS[ANTHROPIC], WHOLE, 0.0)
    assert chunks == STREAM_CHUNKS and first is not None and first > 0
    with pytest.raises(Invalid, match="wrong stream content"):
        await _read_stream(_response(b"".join(_frames())), APIS[ANTHROPIC], SHOUTED, 0.0)


async def test_exchange_reads_an_anthropic_message() -> None:
    workload = next(w for w in WORKLOADS if not w.stream)
    text = expected_text(workload, 7, upper=False)
    body = anthropic_wire.message_body("demo-echo", Answer((text,)), 3)
    await _read_completion(_response(body), APIS[ANTHROPIC], Expected(text))
    with pytest.raises(Invalid, match="wrong answer content"):
        await _read_completion(_response(body), APIS[ANTHROPIC], Expected(text.upper()))
    unfinished = body.replace(b'"end_turn"', b'"max_tokens"')
    with pytest.raises(Invalid, match="not a finished message"):
        await _read_completion(_response(unfinished), APIS[ANTHROPIC], Expected(text))


def _responses_events() -> list[dict[str, Any]]:
    """The demo upstream's own Responses events for the bench's stream, decoded (created ... completed)."""
    writer = rw.ResponseWriter("demo-long", {}, 5)
    frames = rw.stream_events(writer, Answer(tuple(long_pieces(STREAM_CHUNKS))))
    return [orjson.loads(f.split(b"\ndata: ", 1)[1]) for f in frames]


def _typed(values: list[dict[str, Any]]) -> list[bytes]:
    return [_event(v) for v in values]


def _renumbered(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**v, "sequence_number": n} for n, v in enumerate(values)]


def _with_completed_text(values: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
    done = copy.deepcopy(values[-1])
    done["response"]["output"][0]["content"][0]["text"] = text
    return [*values[:-1], done]


def _with_call(values: list[dict[str, Any]]) -> list[dict[str, Any]]:
    done = copy.deepcopy(values[-1])
    done["response"]["output"] = [{"type": "function_call", "name": "exec_command", "arguments": "{}"}]
    return [*values[:-1], done]


def test_responses_check_reads_the_demo_upstreams_stream_whole() -> None:
    texts = _feed_all(ResponsesStream(), _typed(_responses_events()))
    assert len(texts) == STREAM_CHUNKS and "".join(texts) == TEXT
    # The door's keepalive comment (sent while a judge works) carries nothing and breaks nothing.
    events = _typed(_responses_events())
    assert _feed_all(ResponsesStream(), [events[0], b": keepalive", *events[1:]]) == texts


def _delta_index(values: list[dict[str, Any]]) -> int:
    return next(i for i, v in enumerate(values) if v["type"] == "response.output_text.delta")


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda ev: ev[:-1], "without response.completed"),
        (lambda ev: _renumbered([*ev, {"type": "response.in_progress"}]), "after response.completed"),
        (lambda ev: _renumbered(ev[1:]), "before response.created"),
        (lambda ev: _renumbered([ev[0], *ev]), "a second response.created"),
        (lambda ev: [*ev[:5], ev[4], *ev[5:]], "sequence_number"),  # a delta twice: numbering not rising
        (lambda ev: _renumbered([*ev[:3], *ev[4:]]), "open None"),  # no content_part.added: deltas of no part
        (lambda ev: _renumbered([*ev[:2], *ev[3:]]), "open None"),  # no output_item.added
        (lambda ev: _renumbered([*ev[:6], *ev[7:]]), "output_text.done holds"),  # a delta lost
        (lambda ev: _with_completed_text(ev, TEXT.upper()), "response.completed holds"),
        (lambda ev: _with_call(ev), "response.completed holds calls"),
        (
            lambda ev: _renumbered([*ev[:4], {"type": "response.failed", "response": {}}, *ev[4:]]),
            "response.failed",
        ),
    ],
)
def test_responses_check_rejects_a_broken_stream(mutate: Any, message: str) -> None:
    with pytest.raises(Invalid, match=message):
        _feed_all(ResponsesStream(), _typed(mutate(_responses_events())))


def test_responses_check_wants_event_lines_naming_the_type() -> None:
    events = _typed(_responses_events())
    named_wrong = _event(_responses_events()[_delta_index(_responses_events())], "response.output_text.done")
    with pytest.raises(Invalid, match="event line"):
        _feed_all(ResponsesStream(), [*events[:4], named_wrong, *events[5:]])


async def test_exchange_reads_a_responses_stream_and_times_its_first_delta() -> None:
    body = b"".join(b + b"\n\n" for b in _typed(_responses_events()))
    first, chunks = await _read_stream(_response(body), APIS[RESPONSES], WHOLE, 0.0)
    assert chunks == STREAM_CHUNKS and first is not None and first > 0
    with pytest.raises(Invalid, match="wrong stream content"):
        await _read_stream(_response(body), APIS[RESPONSES], SHOUTED, 0.0)


async def test_exchange_reads_a_response() -> None:
    workload = next(w for w in WORKLOADS if not w.stream)
    text = expected_text(workload, 7, upper=False)
    response = rw.response_body(rw.ResponseWriter("demo-echo", {}, 3), Answer((text,)))
    await _read_completion(_response(orjson.dumps(response)), APIS[RESPONSES], Expected(text))
    with pytest.raises(Invalid, match="wrong answer content"):
        await _read_completion(_response(orjson.dumps(response)), APIS[RESPONSES], Expected(text.upper()))
    with pytest.raises(Invalid, match="not a completed response"):
        await _read_completion(
            _response(orjson.dumps({**response, "status": "incomplete"})), APIS[RESPONSES], Expected(text)
        )


def test_responses_asks_with_input_items_and_a_bearer_key() -> None:
    api = APIS[RESPONSES]
    assert api.path == "/v1/responses" and api.auth("k") == {"authorization": "Bearer k"}
    body = orjson.loads(api.body(request_payload(STREAM, 3)))
    assert "messages" not in body and body["store"] is False and body["stream"] is True
    assert body["input"] == [{"type": "message", "role": "user", "content": "bench stream 3"}]
    assert body["demo_chunks"] == STREAM_CHUNKS and body["model"] == "demo-long"


async def _demo_answer(api: apis.Api, workload: Workload, index: int) -> bytes:
    """The demo upstream's own answer to the bench's tool-call request `index` in `api` (in process)."""
    body = api.body(request_payload(workload, index, tool_calls=True))
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://demo") as client:
        response = await client.post(api.path, content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    return response.content


@pytest.mark.parametrize("api", [OPENAI, ANTHROPIC, RESPONSES])
@pytest.mark.parametrize(
    "workload", [w for w in WORKLOADS if w.key in ("ns-c1", "st-c1")], ids=lambda w: w.key
)
async def test_a_tool_call_answer_is_read_and_checked_in_each_api(api: str, workload: Workload) -> None:
    """demo-agent proposes the bench's harmless command as one call of the offered tool; the check
    wants exactly that call (its arguments decoded), and a stream's fragments count as chunks."""
    body = await _demo_answer(APIS[api], workload, 4)
    want = expected(workload, 4, upper=False, tool_calls=True)
    assert want.call == (TOOL_NAME, {"command": command(4)})
    other = Expected("", (TOOL_NAME, {"command": command(5)}))
    if workload.stream:
        first, chunks = await _read_stream(_response(body), APIS[api], want, 0.0)
        assert first is not None and chunks >= 2  # the call's start and its argument fragments
        with pytest.raises(Invalid, match="expected calls"):
            await _read_stream(_response(body), APIS[api], other, 0.0)
    else:
        await _read_completion(_response(body), APIS[api], want)
        with pytest.raises(Invalid, match="expected calls"):
            await _read_completion(_response(body), APIS[api], other)


async def test_a_blocked_call_fails_the_check_and_passes_the_probe() -> None:
    """A guard that removed the harmless call and sent its block message instead is a wrong answer;
    the probe's dangerous call must come back exactly so, and released it is an error."""
    want = expected(STREAM, 4, upper=False, tool_calls=True)
    blocked = b"".join(anthropic_wire.stream_frames("demo-agent", Answer(("[luthien] blocked",)), 5))
    with pytest.raises(Invalid, match="expected calls"):
        await _read_stream(_response(blocked), APIS[ANTHROPIC], want, 0.0)
    probe = Expected("", blocked=True)
    await _read_stream(_response(blocked), APIS[ANTHROPIC], probe, 0.0)
    released = b"".join(
        anthropic_wire.stream_frames("demo-agent", Answer(calls=(Call("x", TOOL_NAME, "{}"),)), 5)
    )
    with pytest.raises(Invalid, match=r"let .* through"):
        await _read_stream(_response(released), APIS[ANTHROPIC], probe, 0.0)


def test_each_api_offers_the_shell_tool_in_its_own_shape() -> None:
    payload = request_payload(STREAM, 2, tool_calls=True)
    assert payload["model"] == "demo-agent" and payload["messages"][0]["content"].endswith(
        f"run: {command(2)}"
    )
    openai = orjson.loads(APIS[OPENAI].body(payload))["tools"]
    anthropic = orjson.loads(APIS[ANTHROPIC].body(payload))["tools"]
    responses = orjson.loads(APIS[RESPONSES].body(payload))["tools"]
    assert openai == [{"type": "function", "function": TOOL}]
    assert anthropic == [
        {"name": TOOL_NAME, "description": TOOL["description"], "input_schema": TOOL["parameters"]}
    ]
    assert responses == [{"type": "function", **TOOL}]


async def test_the_realistic_workload_paces_demo_agent_and_demo_long() -> None:
    """The realistic workload asks the upstream to wait before each frame (`demo_delay_ms`), tool-call
    turns included, and a quick run shortens the wait."""
    real = WORKLOAD_BY_KEY["st-real"]
    assert real.delay_ms >= 10 and real.delay(quick=True) < real.delay_ms
    assert request_payload(real, 1)["demo_delay_ms"] == real.delay_ms
    assert request_payload(real, 1, tool_calls=True, quick=True)["demo_delay_ms"] == real.delay(quick=True)
    assert "demo_delay_ms" not in request_payload(WORKLOAD_BY_KEY["ns-c1"], 1, tool_calls=True)
    turn = Turn("run: ls", ("run: ls",), None, 1)
    paced = script("demo-agent", {"demo_delay_ms": 30}, turn, DemoDefaults())
    assert isinstance(paced, Answer) and paced.delay_s == pytest.approx(0.03) and paced.calls
    unpaced = script("demo-agent", {}, turn, DemoDefaults())
    assert isinstance(unpaced, Answer) and unpaced.delay_s == 0
