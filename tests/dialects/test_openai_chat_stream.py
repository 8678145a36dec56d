"""`ChatStreamCodec`: an untouched stream goes back as the very chunks, an edit changes only its
text, and a call reaches the client once, whole, as the policy released it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from luthien_proxy.dialects.openai_chat import ChatStreamCodec
from luthien_proxy.model import (
    MalformedToolCall,
    Passthrough,
    ReasoningDelta,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
)

Json = dict[str, Any]
Edit = Callable[[StreamEvent], StreamEvent | None]


def chunk(delta: Json, finish: str | None = None, index: int = 0, **extra: Any) -> Json:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": index, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def call_chunk(**fragment: Any) -> Json:
    return chunk({"tool_calls": [{"index": 0, **fragment}]})


async def frames(items: list[Json]) -> AsyncIterator[Json]:
    for item in items:
        yield item


async def events_of(items: list[Json]) -> tuple[ChatStreamCodec, list[StreamEvent]]:
    codec = ChatStreamCodec()
    return codec, [event async for event in codec.decode(frames(items))]


async def round_trip(items: list[Json], edit: Edit = lambda event: event) -> list[Json]:
    """What the client gets for `items` when a policy maps each event through `edit` (None drops it)."""
    codec, events = await events_of(items)
    return [codec.encode(new) for event in events if (new := edit(event)) is not None]


def upper(event: StreamEvent) -> StreamEvent:
    return event.with_text(event.text.upper()) if isinstance(event, TextDelta) else event


USAGE: Json = {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"total_tokens": 2}}


async def test_an_untouched_stream_is_the_same_chunks_in_the_same_order() -> None:
    items = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"reasoning_content": "hmm"}),
        chunk({"content": "a"}),
        chunk({"refusal": "no"}),
        chunk({}, "stop"),
        USAGE,
    ]
    out = await round_trip(items)
    assert len(out) == len(items) and all(a is b for a, b in zip(out, items, strict=True))


async def test_an_edited_text_delta_changes_only_its_text() -> None:
    sent = chunk({"content": "hello"}, system_fingerprint="fp")
    out = await round_trip([sent, chunk({}, "stop")], upper)
    assert out[0] == {**sent, "choices": [{"index": 0, "delta": {"content": "HELLO"}, "finish_reason": None}]}
    assert sent["choices"][0]["delta"] == {"content": "hello"}  # the model's chunk is not mutated


async def test_an_edited_refusal_stays_a_refusal() -> None:
    out = await round_trip([chunk({"content": None, "refusal": "no way"})], upper)
    assert out[0]["choices"][0]["delta"] == {"refusal": "NO WAY"}


async def test_a_chunk_of_reasoning_and_content_is_two_events_and_an_edit_never_resends_the_text() -> None:
    sent = chunk({"reasoning_content": "secret plan", "content": "hello"})
    codec, events = await events_of([sent])
    assert [(type(e), e.text) for e in events if isinstance(e, TextDelta | ReasoningDelta)] == [
        (ReasoningDelta, "secret plan"),
        (TextDelta, "hello"),
    ]
    out = [codec.encode(upper(event)) for event in events]
    assert [c["choices"][0]["delta"] for c in out] == [
        {"reasoning_content": "secret plan"},
        {"content": "HELLO"},
    ]
    assert "hello" not in json.dumps(out)


async def test_an_edited_reasoning_delta_keeps_its_field() -> None:
    def redact(event: StreamEvent) -> StreamEvent:
        return event.with_text("[hidden]") if isinstance(event, ReasoningDelta) else event

    out = await round_trip([chunk({"reasoning": "secret"})], redact)
    assert out[0]["choices"][0]["delta"] == {"reasoning": "[hidden]"}


async def test_a_chunk_of_two_choices_is_split_per_choice() -> None:
    sent = chunk({"content": "a"})
    sent["choices"].append({"index": 1, "delta": {"content": "b"}, "finish_reason": None})
    out = await round_trip([sent], upper)
    assert [(c["choices"][0]["index"], c["choices"][0]["delta"]) for c in out] == [
        (0, {"content": "A"}),
        (1, {"content": "B"}),
    ]
    assert all(len(c["choices"]) == 1 and c["id"] == "c" for c in out)


async def test_a_streamed_call_arrives_once_whole_and_canonical() -> None:
    items = [
        chunk({"content": "Working."}),
        call_chunk(id="x", type="function", function={"name": "run", "arguments": '{"cmd": "\\u0072m'}),
        call_chunk(function={"arguments": ' -rf /"}'}),
        chunk({}, "tool_calls"),
    ]
    codec, events = await events_of(items)
    assert [type(event).__name__ for event in events] == ["TextDelta", "ToolCallEvent", "Stop"]
    out = [codec.encode(event) for event in events]
    calls = [d for c in out for ch in c["choices"] for d in ch["delta"].get("tool_calls") or ()]
    assert calls == [
        {
            "index": 0,
            "id": "x",
            "type": "function",
            "function": {"name": "run", "arguments": '{"cmd":"rm -rf /"}'},
        }
    ]
    assert out[-1]["choices"][0]["finish_reason"] == "tool_calls"


async def test_a_stream_whose_every_call_a_policy_dropped_finishes_with_stop() -> None:
    items = [
        call_chunk(id="x", type="function", function={"name": "run", "arguments": "{}"}),
        chunk({}, "tool_calls"),
    ]
    out = await round_trip(items, lambda event: None if isinstance(event, ToolCallEvent) else event)
    assert [c["choices"][0]["finish_reason"] for c in out] == ["stop"]
    assert "tool_calls" not in json.dumps(out)


async def test_text_a_policy_adds_at_the_end_is_written_on_the_streams_own_chunk() -> None:
    codec, _ = await events_of([chunk({"content": "a"}), chunk({}, "stop", system_fingerprint="fp")])
    added = codec.encode(TextDelta("note"))
    assert (added["id"], added["model"], added["created"], added["system_fingerprint"]) == ("c", "m", 1, "fp")
    assert added["choices"] == [{"index": 0, "delta": {"content": "note"}, "finish_reason": None}]


async def test_a_passthrough_that_carries_a_call_is_refused() -> None:
    codec = ChatStreamCodec()
    smuggled = call_chunk(id="x", type="function", function={"name": "run", "arguments": "{}"})
    with pytest.raises(MalformedToolCall):
        codec.encode(Passthrough(smuggled))


async def test_an_edited_text_delta_drops_the_logprobs_that_spell_the_original() -> None:
    logprobs = {"content": [{"token": "secret", "logprob": -0.1}]}
    source = chunk({"content": "secret"})
    source["choices"][0]["logprobs"] = logprobs
    (edited,) = await round_trip([source], upper)
    assert edited["choices"][0]["delta"] == {"content": "SECRET"}
    assert "logprobs" not in edited["choices"][0]
    assert await round_trip([source]) == [source], "untouched, the logprobs stay"


async def test_a_split_reasoning_and_content_chunk_sends_its_logprobs_once() -> None:
    source = chunk({"reasoning_content": "think", "content": "say"})
    source["choices"][0]["logprobs"] = {"content": [{"token": "say", "logprob": -0.2}]}
    reasoning, text = await round_trip([source])
    assert "logprobs" not in reasoning["choices"][0]
    assert text["choices"][0]["logprobs"] == source["choices"][0]["logprobs"]


async def test_text_a_policy_adds_mid_stream_carries_the_streams_id_and_model() -> None:
    codec, events = await events_of([chunk({"content": "a"}), chunk({"content": "b"})])
    added = codec.encode(TextDelta("[note]", 0, "content"))
    assert {k: added[k] for k in ("id", "object", "created", "model")} == {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
    }
    assert added["choices"][0]["delta"] == {"content": "[note]"}
    assert len(events) == 2
