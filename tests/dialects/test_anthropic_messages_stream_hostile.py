"""The Anthropic Messages stream codec against a hostile model: input split anywhere, frames out of
grammar, calls that never finish. Every case either yields one whole, canonical call or refuses the
stream (`MalformedToolCall`) before any frame of the call has reached the client."""

from __future__ import annotations

import json
from typing import Any

import pytest

from luthien_proxy.dialects.anthropic_messages import MessagesStreamCodec
from luthien_proxy.dialects.anthropic_messages.stream_reader import MAX_ARGUMENT_CHARS
from luthien_proxy.model import (
    MalformedToolCall,
    Passthrough,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    canonical_arguments,
)
from tests.dialects.anthropic_messages_fixtures import (
    MESSAGE_STOP,
    assemble,
    frames,
    json_delta,
    message_delta,
    message_start,
    start,
    stop,
    text,
    text_block,
    text_start,
    tool_block,
    tool_start,
)

Json = dict[str, Any]


async def client_gets(items: list[Json]) -> tuple[list[Json], MalformedToolCall | None]:
    """The frames written for `items` with every event passed through, and the refusal if any."""
    codec = MessagesStreamCodec()
    out: list[Json] = []
    try:
        async for event in codec.decode(frames(items)):
            out.extend(codec.encode_frames(event))
    except MalformedToolCall as refusal:
        return out, refusal
    return out, None


def calls_in(out: list[Json]) -> list[Json]:
    return [f for f in out if "tool_use" in json.dumps(f) or "input_json_delta" in json.dumps(f)]


async def only_call(items: list[Json]) -> ToolCall:
    codec = MessagesStreamCodec()
    calls = [e.call async for e in codec.decode(frames(items)) if isinstance(e, ToolCallEvent)]
    assert len(calls) == 1
    return calls[0]


ARGUMENTS = '{"command": "\\u0072m -rf /tmp/x", "note": "é😀 \\ud83d\\ude00 \\"q\\" \\\\"}'


async def test_input_split_at_every_character_is_one_canonical_call() -> None:
    items = [
        message_start(),
        tool_start(0),
        *(json_delta(0, c) for c in ARGUMENTS),
        stop(0),
        message_delta("tool_use"),
    ]
    call = await only_call(items)
    assert call.arguments == canonical_arguments(ARGUMENTS)
    assert json.loads(call.arguments) == {"command": "rm -rf /tmp/x", "note": 'é😀 😀 "q" \\'}
    out, refusal = await client_gets(items)
    assert refusal is None and assemble(out)["content"][0]["input"]["command"] == "rm -rf /tmp/x"


async def test_a_character_split_into_its_surrogate_halves_is_joined() -> None:
    # A frame's JSON may carry half a character ("\ud83d" alone): the halves meet in the call.
    halves = ['{"note": "', "\ud83d", "\ude00", '"}']
    call = await only_call([message_start(), tool_start(0), *(json_delta(0, h) for h in halves), stop(0)])
    note = json.loads(call.arguments)["note"]
    assert note.encode("utf-16", "surrogatepass").decode("utf-16") == "😀"
    call.arguments.encode("utf-8")  # what is written is valid UTF-8 (orjson would refuse lone surrogates)


async def test_huge_arguments_arrive_whole_and_too_huge_ones_are_refused() -> None:
    big = json.dumps({"content": "x" * 1_000_000})
    call = await only_call([message_start(), *tool_block(0, big, pieces=1000)])
    assert len(call.arguments) == len(big) - 1  # canonical: no space after the colon
    too_big = '{"content": "' + "x" * MAX_ARGUMENT_CHARS + '"}'
    out, refusal = await client_gets([message_start(), *tool_block(0, too_big, pieces=4)])
    assert refusal is not None and "exceed" in str(refusal) and not calls_in(out)


@pytest.mark.parametrize(
    ("arguments", "why"),
    [
        ('{"command": "rm', "not valid JSON"),
        ('["rm", "-rf"]', "must be a JSON object"),
        ("{'a': 1}", "not valid JSON"),
    ],
)
async def test_invalid_arguments_refuse_the_stream_unsent(arguments: str, why: str) -> None:
    out, refusal = await client_gets([message_start(), *text_block(0, "ok"), *tool_block(1, arguments)])
    assert refusal is not None and why in str(refusal)
    assert not calls_in(out) and assemble(out)["content"] == [{"type": "text", "text": "ok"}]


UNFINISHED = [message_start(), tool_start(0), json_delta(0, '{"command": "curl x | sh"}')]


@pytest.mark.parametrize(
    ("tail", "where"),
    [
        ([message_delta("tool_use"), MESSAGE_STOP], "message_delta"),
        ([MESSAGE_STOP], "message_stop"),
        ([], "end of the stream"),
    ],
)
async def test_a_call_that_never_stops_is_refused_never_released(tail: list[Json], where: str) -> None:
    out, refusal = await client_gets([*UNFINISHED, *tail])
    assert refusal is not None and where in str(refusal)
    assert not calls_in(out) and out == [message_start()]


async def test_an_error_mid_call_passes_and_the_call_is_dropped() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    out, refusal = await client_gets([*UNFINISHED, error])
    assert refusal is None and out == [message_start(), error] and not calls_in(out)


@pytest.mark.parametrize(
    ("items", "why"),
    [
        ([text(0, "orphan")], "never started"),
        ([json_delta(3, '{"a":1}')], "never started"),
        ([text_start(0), text_start(0)], "started twice"),
        ([tool_start(0), tool_start(0, "toolu_02")], "started twice"),
        ([*text_block(0, "a"), text(0, "late")], "after its stop"),
        ([*tool_block(0, '{"command":"ls"}'), json_delta(0, ', "x": "rm -rf /"}')], "after its stop"),
        ([*text_block(0, "a"), stop(0)], "after its stop"),
        ([tool_start(0), text(0, "rm -rf /")], "only input_json_delta"),
        ([tool_start(0), json_delta(0, 7)], "only input_json_delta"),  # type: ignore[arg-type]
        ([start(0, {"type": "thinking", "thinking": ""}), text(0, "x")], "text_delta needs a text block"),
        ([*tool_block(0, "{}"), *tool_block(1, "{}")], "share the id"),
        (
            [
                start(0, {"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "ls"}}),
                json_delta(0, "{}"),
            ],
            "has an input",
        ),
        ([start(0, {"type": "tool_use", "id": "t", "name": 5, "input": {}})], "name must be a string"),
        ([start(0, {"text": "no type"})], "with a type"),
        (
            [{"type": "content_block_start", "index": True, "content_block": {"type": "text", "text": ""}}],
            "index",
        ),
        (
            [{"type": "content_block_delta", "index": -1, "delta": {"type": "text_delta", "text": "x"}}],
            "index",
        ),
        ([message_start()], "one message_start"),
    ],
)
async def test_a_frame_out_of_grammar_refuses_the_stream(items: list[Json], why: str) -> None:
    out, refusal = await client_gets([message_start(), *items])
    assert refusal is not None and why in str(refusal), refusal
    sent = json.dumps(out)
    assert not any(marker in sent for marker in ("rm -rf", "orphan", "late", "toolu_02"))
    assemble(out)  # what reached the client (a call only when it was whole) is a well-formed stream


@pytest.mark.parametrize(
    "items",
    [
        [text_start(0), stop(0)],
        [message_start(), MESSAGE_STOP, *tool_block(0, '{"command":"rm -rf /"}')],
        [message_start(), MESSAGE_STOP, MESSAGE_STOP],
    ],
)
async def test_content_outside_the_message_is_refused(items: list[Json]) -> None:
    out, refusal = await client_gets(items)
    assert refusal is not None and "outside the message" in str(refusal)
    assert out == items[: len(out)] and not calls_in(out)


@pytest.mark.parametrize(
    "content",
    [
        [{"type": "tool_use", "id": "t", "name": "Bash", "input": {"command": "rm -rf /"}}],
        [{"type": "text", "text": "x"}],
    ],
)
async def test_a_message_start_carrying_content_is_refused(content: list[Json]) -> None:
    first = message_start()
    first["message"]["content"] = content
    out, refusal = await client_gets([first])
    assert refusal is not None and "may not carry content" in str(refusal) and out == []


async def test_a_call_with_its_input_in_the_start_is_judged_and_re_sent_as_one_delta() -> None:
    block = {
        "type": "tool_use",
        "id": "t",
        "name": "Bash",
        "input": {"command": "ls"},
        "caller": {"type": "direct"},
    }
    out, refusal = await client_gets([message_start(), start(0, block), stop(0)])
    assert refusal is None
    assert out[1]["content_block"] == {**block, "input": {}}  # fields kept, input only in the delta
    assert assemble(out)["content"][0]["input"] == {"command": "ls"}


async def test_interleaved_blocks_stream_the_text_and_hold_the_call() -> None:
    items = [
        message_start(),
        text_start(0),
        tool_start(1),
        text(0, "Let me "),
        json_delta(1, '{"command":'),
        text(0, "check. "),
        json_delta(1, ' "ls"}'),
        stop(1),
        text(0, "Done."),
        stop(0),
        message_delta("tool_use"),
    ]
    codec = MessagesStreamCodec()
    events = [e async for e in codec.decode(frames(items))]
    kinds = [type(e).__name__ for e in events if not isinstance(e, Passthrough)]
    assert kinds == ["TextDelta", "TextDelta", "ToolCallEvent", "TextDelta", "Stop"]
    out = [f for e in events for f in codec.encode_frames(e)]
    message = assemble(out)
    assert [b["type"] for b in message["content"]] == ["text", "tool_use", "text"]
    assert message["content"][0]["text"] + message["content"][2]["text"] == "Let me check. Done."
    assert message["content"][1]["input"] == {"command": "ls"} and message["stop_reason"] == "tool_use"


async def test_a_passthrough_cannot_smuggle_a_call_past_the_policy() -> None:
    codec = MessagesStreamCodec()
    _ = [
        e async for e in codec.decode(frames([message_start(), tool_start(0), json_delta(0, "{}"), stop(0)]))
    ]
    with pytest.raises(MalformedToolCall, match="released call"):
        codec.encode_frames(Passthrough(tool_start(5, "toolu_x")))
    with pytest.raises(MalformedToolCall, match="not a tool_use"):
        codec.encode_frames(Passthrough(json_delta(0, '{"command":"rm -rf /"}')))
    with pytest.raises(MalformedToolCall, match="not valid JSON"):
        codec.encode_frames(ToolCallEvent(ToolCall("t", "Bash", "rm -rf /")))
    assert codec.encode_frames(TextDelta("fine"))[-1]["delta"] == {"type": "text_delta", "text": "fine"}


async def test_non_object_frames_and_deltas_are_refused() -> None:
    for items in (
        [message_start(), "data: {}"],
        [message_start(), text_start(0), {"type": "content_block_delta", "index": 0, "delta": "x"}],
    ):
        out, refusal = await client_gets(items)  # type: ignore[arg-type]
        assert refusal is not None and not calls_in(out)
