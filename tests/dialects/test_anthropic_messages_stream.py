"""The Anthropic Messages stream codec: an untouched stream is the very frames, text streams at
once, a tool_use block is held and reaches the client once, whole and canonical — or as a text
block with `end_turn` when the policy blocks it — and block indices stay 0..n whatever the policy does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.dialects.anthropic_messages import ANTHROPIC_MESSAGES, MessagesStreamCodec
from luthien_proxy.model import (
    Passthrough,
    ReasoningDelta,
    Stop,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
)
from luthien_proxy.pipeline.policing import police_stream
from luthien_proxy.policies import LuthienPolicy, PolicyContext
from luthien_proxy.policies.all_caps import AllCapsPolicy
from luthien_proxy.protocols.guard import guard_stream
from luthien_proxy.protocols.toolcalls import Outcome
from tests.dialects.anthropic_messages_fixtures import (
    MESSAGE_STOP,
    PING,
    SIGNATURE,
    assemble,
    frames,
    message_delta,
    message_start,
    text,
    text_block,
    text_start,
    thinking_block,
    tool_block,
    tool_stream,
)

Json = dict[str, Any]
Edit = Callable[[StreamEvent], list[StreamEvent]]


async def events_of(items: list[Json]) -> tuple[MessagesStreamCodec, list[StreamEvent]]:
    codec = MessagesStreamCodec()
    return codec, [event async for event in codec.decode(frames(items))]


async def round_trip(items: list[Json], edit: Edit = lambda event: [event]) -> list[Json]:
    """What the client gets for `items` when a policy maps each event to `edit(event)`."""
    codec, events = await events_of(items)
    return [frame for event in events for new in edit(event) for frame in codec.encode_frames(new)]


class _Guard(LuthienPolicy):
    """The shared tool-call guard as a policy, deciding every call with `outcome`."""

    def __init__(self, outcome: Callable[[list[ToolCall]], Outcome]) -> None:
        self.outcome = outcome
        self.seen: list[list[ToolCall]] = []

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async def decide(calls: list[ToolCall]) -> Outcome:
            self.seen.append(calls)
            return self.outcome(calls)

        async for event in guard_stream(events, decide):
            yield event


async def policed(policy: LuthienPolicy, items: list[Json]) -> list[Json]:
    ctx = PolicyContext("c", None, {}, InProcessPolicyState())
    return [frame async for frame in police_stream(policy, frames(items), ctx, ANTHROPIC_MESSAGES)]


def blocks(out: list[Json]) -> list[str]:
    return [block["type"] for block in assemble(out)["content"]]


async def test_an_untouched_stream_without_calls_is_the_very_frames() -> None:
    items = [
        message_start(),
        PING,
        *thinking_block(0),
        *text_block(1, "Hi", " there."),
        message_delta(),
        PING,
        MESSAGE_STOP,
    ]
    out = await round_trip(items)
    assert len(out) == len(items) and all(a is b for a, b in zip(out, items, strict=True))
    assert ANTHROPIC_MESSAGES.stream_codec().__class__ is MessagesStreamCodec


async def test_text_streams_at_once_and_thinking_and_signature_pass_untouched() -> None:
    _, events = await events_of(tool_stream())
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("TextDelta") < kinds.index("ToolCallEvent")
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["I'll list ", "the files."]
    assert not any(isinstance(e, ReasoningDelta) for e in events)  # no policy may edit signed thinking
    signed = [e.raw for e in events if isinstance(e, Passthrough) and e.raw.get("delta", {}).get("signature")]
    assert signed == [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "signature_delta", "signature": SIGNATURE},
        }
    ]


async def test_a_held_call_arrives_once_whole_and_canonical() -> None:
    arguments = '{"command": "ls -la",  "description": "List files", "command": "rm -rf ~"}'
    items = [message_start(), *tool_block(0, arguments, pieces=20), message_delta("tool_use"), MESSAGE_STOP]
    _, events = await events_of(items)
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [ToolCall("toolu_01", "Bash", '{"command":"rm -rf ~","description":"List files"}')]
    out = await round_trip(items)
    deltas = [f for f in out if f["type"] == "content_block_delta"]
    assert deltas == [
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "input_json_delta", "partial_json": calls[0].arguments},
        }
    ]
    assert out[1] == {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {}},
    }
    assert assemble(out)["content"][0]["input"] == {"command": "rm -rf ~", "description": "List files"}
    assert out[-2] is items[-2]  # tool_use released: the model's message_delta as sent


async def test_a_released_stream_assembles_to_the_models_message() -> None:
    items = tool_stream()
    out = await round_trip(items)
    message = assemble(out)
    assert blocks(out) == ["thinking", "text", "tool_use"] and message["stop_reason"] == "tool_use"
    assert message["content"][0]["signature"] == SIGNATURE
    assert message["content"][2]["input"] == {"command": "ls -la", "description": "List files"}
    untouched = [f for f in items if f.get("index") != 2]
    assert [f for f in out if f.get("index") != 2] == untouched


async def test_a_blocked_call_becomes_a_text_block_and_end_turn() -> None:
    guard = _Guard(lambda calls: Outcome([], f"Blocked {calls[0].name}: not allowed."))
    out = await policed(guard, tool_stream())
    message = assemble(out)
    assert blocks(out) == ["thinking", "text", "text"] and message["stop_reason"] == "end_turn"
    assert message["content"][2]["text"] == "Blocked Bash: not allowed."
    assert not any("tool_use" in json.dumps(f) or "input_json" in json.dumps(f) for f in out)
    assert out[-2]["usage"] == {"output_tokens": 42} and out[-1] == MESSAGE_STOP
    assert [c.arguments for c in guard.seen[0]] == ['{"command":"ls -la","description":"List files"}']


async def test_a_guard_releasing_an_edited_call_sends_the_edit_only() -> None:
    edited = ToolCall("toolu_01", "Bash", '{"command":"ls"}')
    out = await policed(_Guard(lambda calls: Outcome([edited])), tool_stream())
    message = assemble(out)
    assert message["content"][2]["input"] == {"command": "ls"} and message["stop_reason"] == "tool_use"
    assert sum(f["type"] == "content_block_start" for f in out) == 3


async def test_all_caps_edits_only_the_text_deltas() -> None:
    items = tool_stream()
    out = await policed(AllCapsPolicy(), items)
    message = assemble(out)
    assert message["content"][1]["text"] == "I'LL LIST THE FILES."
    assert message["content"][0] == {
        "type": "thinking",
        "thinking": "The user wants the files listed.",
        "signature": SIGNATURE,
    }
    edited = next(f for f in out if f.get("delta", {}).get("type") == "text_delta")
    assert edited == {**items[8], "delta": {"type": "text_delta", "text": "I'LL LIST "}}


async def test_indices_stay_contiguous_when_blocks_are_dropped_added_and_replaced() -> None:
    items = [
        message_start(),
        *text_block(0, "one"),
        *tool_block(1, '{"command":"a"}', "toolu_a"),
        *text_block(2, "two"),
        *tool_block(3, '{"command":"b"}', "toolu_b"),
        message_delta("tool_use"),
        MESSAGE_STOP,
    ]

    def edit(event: StreamEvent) -> list[StreamEvent]:
        if isinstance(event, ToolCallEvent) and event.call.id == "toolu_a":
            return []  # dropped
        if isinstance(event, ToolCallEvent):
            return [TextDelta("[b replaced]"), TextDelta(" and noted.")]
        if isinstance(event, TextDelta) and event.text == "two":
            return [event, ToolCallEvent(ToolCall("toolu_new", "Read", '{"file_path":"x"}'))]
        return [event]

    out = await round_trip(items, edit)
    message = assemble(out)  # asserts every index is the next one and every delta hits the open block
    assert blocks(out) == ["text", "text", "tool_use", "text"]
    assert [b.get("text") for b in message["content"]] == ["one", "two", None, "[b replaced] and noted."]
    assert message["content"][2]["input"] == {"file_path": "x"} and message["stop_reason"] == "tool_use"
    assert [f["index"] for f in out if f["type"] == "content_block_start"] == [0, 1, 2, 3]


async def test_text_a_policy_says_first_opens_the_stream_properly() -> None:
    items = [message_start(), *text_block(0, "hello"), message_delta(), MESSAGE_STOP]
    codec, events = await events_of(items)
    out = [*codec.encode_frames(TextDelta("Note: ")), *(f for e in events for f in codec.encode_frames(e))]
    assert out[0] is items[0] and [f["type"] for f in out].count("message_start") == 1
    assert [b["text"] for b in assemble(out)["content"]] == ["Note: ", "hello"]


async def test_a_dropped_text_block_and_a_synthetic_stop_are_well_formed() -> None:
    items = [message_start(), *text_block(0, "secret"), *text_block(1, "kept")]

    def edit(event: StreamEvent) -> list[StreamEvent]:
        dropped = (
            isinstance(event, TextDelta | Passthrough)
            and isinstance(event.raw, dict)
            and event.raw.get("index") == 0
        )
        return [] if dropped else [event]

    codec, events = await events_of(items)
    out = [f for e in events for new in edit(e) for f in codec.encode_frames(new)]
    out += codec.encode_frames(Stop(0, "tool_use"))
    message = assemble(out)
    assert [b["text"] for b in message["content"]] == ["kept"] and out[1]["index"] == 0
    assert message["stop_reason"] == "end_turn"


async def test_a_text_start_carrying_text_is_read_by_the_policy() -> None:
    start = text_start(0)
    start["content_block"]["text"] = "hidden "
    out = await policed(
        AllCapsPolicy(), [message_start(), start, text(0, "tail"), {"type": "content_block_stop", "index": 0}]
    )
    assert out[1]["content_block"] == {"type": "text", "text": ""}
    assert assemble(out)["content"][0]["text"] == "HIDDEN TAIL"
