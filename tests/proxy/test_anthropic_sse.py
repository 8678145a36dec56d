"""LiteLLM's `/v1/messages` stream items (transport reads, one frame each, or event dicts) to whole
Anthropic events, and events back to the frames Anthropic clients read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest

from luthien_proxy.doors.litellm.callback.anthropic_sse import (
    MAX_FRAME_BYTES,
    MalformedStream,
    SSEDecoder,
    encode_event,
    sse_events,
)

EVENTS: list[dict[str, Any]] = [
    {"type": "message_start", "message": {"id": "m1", "type": "message", "role": "assistant", "content": []}},
    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    {"type": "ping"},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "héllo\nthere"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
    {"type": "message_stop"},
]
#: The stream as Anthropic writes it, every separator style a server may use.
WIRE = b"".join(encode_event(e) for e in EVENTS)


def _feed_all(chunks: list[Any]) -> list[dict[str, Any]]:
    decoder = SSEDecoder()
    out = [event for chunk in chunks for event in decoder.feed(chunk)]
    return out + decoder.finish()


@pytest.mark.parametrize("size", [1, 2, 3, 7, 64, len(WIRE)])
def test_events_come_out_whole_however_the_bytes_are_split(size: int) -> None:
    """Transport reads split frames anywhere (inside a UTF-8 character too) and coalesce them."""
    chunks = [WIRE[i : i + size] for i in range(0, len(WIRE), size)]
    assert _feed_all(chunks) == EVENTS


@pytest.mark.parametrize("separator", [b"\r\n", b"\r"])
def test_crlf_and_cr_line_endings_are_frames_too(separator: bytes) -> None:
    wire = WIRE.replace(b"\n", separator)
    assert _feed_all([wire[i : i + 5] for i in range(0, len(wire), 5)]) == EVENTS


def test_comments_event_only_frames_done_and_multi_line_data_are_read_as_sse() -> None:
    wire = (
        b": keepalive comment\n\n"
        b"event: ping\n\n"
        b'event: message_start\ndata: {"type": "message_start",\ndata:  "message": {}}\n\n'
        b"data: [DONE]\n\n"
    )
    assert _feed_all([wire]) == [{"type": "message_start", "message": {}}]


def test_str_frames_and_event_dicts_are_accepted() -> None:
    """LiteLLM's adapter yields one frame per item; a synthetic stream may yield the events."""
    assert _feed_all([WIRE.decode()]) == EVENTS
    assert _feed_all([dict(e) for e in EVENTS]) == EVENTS


def test_a_last_frame_without_its_blank_line_is_still_read() -> None:
    assert _feed_all([WIRE.rstrip(b"\n")]) == EVENTS


@pytest.mark.parametrize(
    "chunk",
    [
        b"data: not json\n\n",
        b"data: [1, 2]\n\n",
        b'data: {"no": "type"}\n\n',
        b'data: {"type": 3}\n\n',
    ],
)
def test_a_frame_that_is_not_an_event_fails_the_stream(chunk: bytes) -> None:
    with pytest.raises(MalformedStream):
        _feed_all([chunk])


def test_an_endless_frame_is_refused_before_it_exhausts_memory() -> None:
    decoder = SSEDecoder()
    with pytest.raises(MalformedStream, match="exceeds"):
        for _ in range(17):
            decoder.feed(b"data: " + b"x" * (MAX_FRAME_BYTES // 16))


def test_an_event_dict_inside_an_unfinished_frame_is_refused() -> None:
    decoder = SSEDecoder()
    decoder.feed(b'data: {"type": "pi')
    with pytest.raises(MalformedStream):
        decoder.feed({"type": "ping"})


def test_encode_writes_the_event_line_anthropic_sdks_dispatch_on() -> None:
    frame = encode_event({"type": "content_block_delta", "index": 0, "delta": {"text": "a\nb"}})
    event, data, blank, end = frame.split(b"\n")
    assert event == b"event: content_block_delta"
    assert orjson.loads(data.removeprefix(b"data: ")) == {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"text": "a\nb"},
    }
    assert (blank, end) == (b"", b"")
    # A type that could break the framing is never written as the event name.
    assert encode_event({"type": "x\n\ndata: {}"}).startswith(b"event: message\ndata: ")


@pytest.mark.asyncio
async def test_sse_events_reads_a_litellm_stream() -> None:
    async def upstream() -> AsyncIterator[bytes]:
        for i in range(0, len(WIRE), 11):
            yield WIRE[i : i + 11]

    assert [event async for event in sse_events(upstream())] == EVENTS
