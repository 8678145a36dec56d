"""The Responses API stream codec under random damage, with fixed seeds: model streams with events
dropped, repeated, swapped or given junk values, and policies that drop, swap, insert and edit
events. The codec either refuses (`MalformedToolCall`, nothing else) or writes a stream a careful
client assembles (and, for a policy's edits of a sound stream, the official SDK's types accept),
whose every call item is one the policy saw released, whole and canonical."""

from __future__ import annotations

import copy
import random
from typing import Any

from luthien_proxy.dialects.openai_responses import ResponsesStreamCodec
from luthien_proxy.model import MalformedToolCall, Stop, StreamEvent, TextDelta, ToolCall, ToolCallEvent
from tests.dialects.openai_responses_client import assemble
from tests.dialects.openai_responses_fixtures import (
    call_item,
    frames,
    message_item,
    reasoning_item,
    stream,
    tool_stream,
)

Json = dict[str, Any]
JUNK: list[Any] = [
    None,
    0,
    1,
    -1,
    True,
    "",
    "x",
    "fc_01",
    "msg_01",
    "call_01",
    [],
    {},
    {"type": "function_call"},
    5000,
]


def _bases() -> list[list[Json]]:
    return [
        tool_stream(),
        stream(
            reasoning_item(0),
            message_item(1, "a", "b"),
            call_item(2, '{"cmd":"x"}'),
            message_item(3, "c", item_id="m2"),
        ),
    ]


def _damaged(items: list[Json], rng: random.Random) -> list[Json]:
    items = copy.deepcopy(items)
    for _ in range(rng.randint(1, 3)):
        op, i = rng.random(), rng.randrange(len(items))
        if op < 0.2:
            del items[i]
        elif op < 0.35:
            items.insert(rng.randrange(len(items) + 1), copy.deepcopy(items[i]))
        elif op < 0.5:
            j = rng.randrange(len(items))
            items[i], items[j] = items[j], items[i]
        else:
            target = items[i]
            key = rng.choice(list(target))
            inner = target[key]
            if isinstance(inner, dict) and inner and rng.random() < 0.5:
                target, key = inner, rng.choice(list(inner))
            target[key] = rng.choice(JUNK)
    return items


def _check(out: list[Json], released: list[ToolCall], validate: bool = True) -> None:
    if out:
        assemble(out, validate)
    for frame in out:
        item = frame.get("item") or {}
        if frame["type"] == "response.output_item.done" and item.get("type") == "function_call":
            assert any(c.id == item["call_id"] and c.arguments == item["arguments"] for c in released), item


async def test_damaged_model_streams_are_refused_or_written_well_formed() -> None:
    rng = random.Random(7)
    refused = 0
    for _ in range(400):
        codec = ResponsesStreamCodec()
        out: list[Json] = []
        released: list[ToolCall] = []
        try:
            async for event in codec.decode(frames(_damaged(rng.choice(_bases()), rng))):
                if isinstance(event, ToolCallEvent):
                    released.append(event.call)
                out.extend(codec.encode_frames(event))
        except MalformedToolCall:
            refused += 1
        if out and out[0]["type"] == "response.created" and isinstance(out[0].get("response"), dict):
            _check(out, released, validate=False)  # the model's junk values pass as it sent them
    assert 0 < refused < 400  # the seeds make both outcomes


def _edited(events: list[StreamEvent], rng: random.Random, n: int) -> list[StreamEvent]:
    for _ in range(rng.randint(1, 4)):
        op, i = rng.random(), rng.randrange(len(events))
        if op < 0.3:
            del events[i]
        elif op < 0.5:
            j = rng.randrange(len(events))
            events[i], events[j] = events[j], events[i]
        elif op < 0.7:
            events.insert(i, TextDelta(rng.choice(["X", "why"]), field=rng.choice(["content", "refusal"])))
        elif op < 0.8:
            events.insert(i, ToolCallEvent(ToolCall(f"call_new_{n}_{i}", "read_file", '{"p":1}')))
        elif op < 0.9:
            events.insert(i, Stop(0, None))
        elif isinstance(event := events[i], TextDelta):
            events[i] = event.with_text(event.text.upper() + "!")
    return events


async def test_whatever_a_policy_does_to_the_events_the_client_gets_a_well_formed_stream() -> None:
    rng = random.Random(11)
    for n in range(300):
        codec = ResponsesStreamCodec()
        events = [e async for e in codec.decode(frames(rng.choice(_bases())))]
        edited = _edited(events, rng, n)
        out = [frame for event in edited for frame in codec.encode_frames(event)]
        _check(out, [e.call for e in edited if isinstance(e, ToolCallEvent)])
        assert out[-1]["type"] == "response.completed" or not any(isinstance(e, Stop) for e in edited)
