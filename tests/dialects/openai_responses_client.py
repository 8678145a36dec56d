"""A client that assembles a Responses API stream the careful way: every event valid as the official
SDK types it, every index the next one, every delta for the open item, done events and
`response.completed` agreeing with what was streamed."""

from __future__ import annotations

import copy
import itertools
import json
import typing
from typing import Any

from openai.types.responses import ResponseStreamEvent

from luthien_proxy.dialects.openai_responses import ResponsesStreamCodec
from luthien_proxy.model import MalformedToolCall, ToolCall, ToolCallEvent
from tests.dialects.openai_responses_fixtures import args_delta, call_added, frames, item_done

Json = dict[str, Any]
#: The SDK's event class for each event type.
_EVENTS: dict[str, Any] = {
    typing.get_args(cls.model_fields["type"].annotation)[0]: cls
    for cls in typing.get_args(typing.get_args(ResponseStreamEvent)[0])
}


def assemble(out: list[Json], validate: bool = True) -> Json:
    """What a careful client builds from `out`: checks that sequence numbers rise, the stream opens
    with response.created, items are added at the next index one at a time, every event names the
    open item (and part), every done agrees with what was streamed, and response.completed's output
    is exactly the done items. Returns {"output": done items, "completed": the response object}."""
    for event in out:
        if validate:  # the SDK's own types, validated (not merely constructed)
            _EVENTS[event["type"]].model_validate(event)
    numbers = [event["sequence_number"] for event in out]
    assert all(b > a for a, b in itertools.pairwise(numbers)), f"sequence numbers {numbers}"
    assert out and out[0]["type"] == "response.created", "the stream must open with response.created"
    items: list[Json] = []
    open_index: int | None = None
    final: Json | None = None
    for event in out[1:]:
        kind = event["type"]
        assert kind != "response.created" and final is None, f"{kind} after the response ended"
        if "output_index" in event:
            if kind == "response.output_item.added":
                assert open_index is None, f"item {event['output_index']} added while {open_index} is open"
                assert event["output_index"] == len(items), f"index {event['output_index']} is not the next"
                items.append(copy.deepcopy(event["item"]))
                open_index = event["output_index"]
                continue
            assert event["output_index"] == open_index, (
                f"{kind} for {event['output_index']}, open is {open_index}"
            )
            item = items[open_index]
            if "item_id" in event:
                assert event["item_id"] == item.get("id"), (
                    f"{kind}: item_id {event['item_id']} is not the open item's"
                )
            _apply(item, event, kind)
            if kind == "response.output_item.done":
                items[open_index] = event["item"]
                open_index = None
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            assert open_index is None, f"{kind} while item {open_index} is open"
            assert event["response"]["output"] == items, "the final output is not what was streamed"
            final = event["response"]
    return {"output": items, "completed": final}


def _apply(item: Json, event: Json, kind: str) -> None:
    content: list[Json] = item.get("content", [])
    if kind == "response.content_part.added":
        assert event["content_index"] == len(content), "a part added at an index that is not the next"
        content.append(copy.deepcopy(event["part"]))
    elif kind == "response.output_text.delta":
        assert content[event["content_index"]]["type"] == "output_text"
        content[event["content_index"]]["text"] += event["delta"]
    elif kind == "response.output_text.done":
        assert event["text"] == content[event["content_index"]]["text"], "output_text.done is not the deltas"
    elif kind == "response.content_part.done":
        assert event["part"].get("text") == content[event["content_index"]].get("text"), (
            "part done is not the deltas"
        )
    elif kind == "response.function_call_arguments.delta":
        assert item["type"] == "function_call"
        item["arguments"] += event["delta"]
    elif kind == "response.function_call_arguments.done":
        assert event["arguments"] == item["arguments"], "arguments.done is not the deltas"
    elif kind == "response.output_item.done":
        done = event["item"]
        assert done["type"] == item["type"] and done.get("id") == item.get("id")
        if item["type"] == "message":
            texts = [p.get("text") for p in done["content"]]
            assert texts == [p.get("text") for p in content], "the done message is not what was streamed"
        if item["type"] == "function_call":
            assert done["arguments"] == item["arguments"], "the done call is not what was streamed"
            json.loads(done["arguments"])


def sent_calls(out: list[Json]) -> list[str]:
    """Every event of `out` that carries a call (in any form)."""
    return [json.dumps(e) for e in out if "function_call" in json.dumps(e) or "exec_command" in json.dumps(e)]


async def client_gets(items: list[Json]) -> tuple[list[Json], MalformedToolCall | None]:
    """The events written for `items` with every event passed through, and the refusal if any."""
    codec = ResponsesStreamCodec()
    out: list[Json] = []
    try:
        async for event in codec.decode(frames(items)):
            out.extend(codec.encode_frames(event))
    except MalformedToolCall as refusal:
        return out, refusal
    return out, None


async def only_call(items: list[Json]) -> ToolCall:
    codec = ResponsesStreamCodec()
    calls = [e.call async for e in codec.decode(frames(items)) if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1
    return calls[0]


def numbered(items: list[Json]) -> list[Json]:
    return [
        {**item, "sequence_number": n} if isinstance(item, dict) else item for n, item in enumerate(items)
    ]


def split_call(index: int, pieces: list[str], arguments: str | None = None) -> list[Json]:
    """A call whose argument deltas are `pieces`, its done events carrying their join."""
    whole = "".join(pieces) if arguments is None else arguments
    done = {**call_added(index)["item"], "arguments": whole, "status": "completed"}
    return [
        call_added(index),
        *(args_delta(index, piece) for piece in pieces),
        {
            "type": "response.function_call_arguments.done",
            "item_id": "fc_01",
            "output_index": index,
            "arguments": whole,
        },
        item_done(index, done),
    ]
