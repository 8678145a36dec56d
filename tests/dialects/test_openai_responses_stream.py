"""The Responses API stream codec: an untouched stream is the very events, text streams at once, a
function_call item is held and reaches the client once, whole and canonical — or as a message item
saying why when the policy blocks it — output indices stay 0..n, sequence numbers rise, and
`response.completed` holds exactly what the client was sent."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import openai

from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.dialects.openai_responses import OPENAI_RESPONSES, ResponsesStreamCodec
from luthien_proxy.model import Passthrough, Stop, StreamEvent, TextDelta, ToolCall, ToolCallEvent
from luthien_proxy.pipeline.policing import police_stream
from luthien_proxy.policies import LuthienPolicy, PolicyContext
from luthien_proxy.policies.all_caps import AllCapsPolicy
from luthien_proxy.protocols.guard import guard_stream
from luthien_proxy.protocols.toolcalls import Outcome
from tests.dialects.openai_responses_client import assemble, sent_calls
from tests.dialects.openai_responses_fixtures import (
    ENCRYPTED,
    call_item,
    frames,
    message_item,
    reasoning_item,
    stream,
    tool_stream,
)

Json = dict[str, Any]
Edit = Callable[[StreamEvent], list[StreamEvent]]
BLOCK = "[luthien] The tool guard blocked a command it judged dangerous; it was not run."


async def events_of(items: list[Json]) -> tuple[ResponsesStreamCodec, list[StreamEvent]]:
    codec = ResponsesStreamCodec()
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
    return [frame async for frame in police_stream(policy, frames(items), ctx, OPENAI_RESPONSES)]


def types(output: list[Json]) -> list[str]:
    return [item["type"] for item in output]


def codex_view(out: list[Json]) -> list[Json]:
    """What Codex acts on: every output_item.done item and response.completed's output."""
    done = [e["item"] for e in out if e["type"] == "response.output_item.done"]
    return done + [e["response"] for e in out if e["type"] == "response.completed"]


async def test_an_untouched_stream_without_calls_is_the_very_events() -> None:
    items = stream(reasoning_item(0), message_item(1, "Hi", " there."))
    out = await round_trip(items)
    assert len(out) == len(items) and all(a is b for a, b in zip(out, items, strict=True))
    assert OPENAI_RESPONSES.stream_codec().__class__ is ResponsesStreamCodec
    assert "".join(OPENAI_RESPONSES.frame_text(f) for f in out) == "The user wants the files listed.Hi there."


async def test_text_streams_at_once_and_reasoning_passes_untouched() -> None:
    _, events = await events_of(tool_stream())
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("TextDelta") < kinds.index("ToolCallEvent") and kinds[-1] == "Stop"
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["I'll list ", "the files."]
    reasoning = [e.raw for e in events if isinstance(e, Passthrough) and "reasoning" in e.raw["type"]]
    assert len(reasoning) == 5  # summary part and text events, none a policy's to edit
    dones = [
        e.raw["item"]
        for e in events
        if isinstance(e, Passthrough) and e.raw.get("item", {}).get("type") == "reasoning"
    ]
    assert dones[-1]["encrypted_content"] == ENCRYPTED


async def test_a_held_call_arrives_once_whole_and_canonical() -> None:
    arguments = '{"cmd": "ls -la",  "workdir": "/tmp", "cmd": "rm -rf ~"}'
    items = stream(call_item(0, arguments, pieces=20))
    _, events = await events_of(items)
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert calls == [ToolCall("call_01", "exec_command", '{"cmd":"rm -rf ~","workdir":"/tmp"}')]
    out = await round_trip(items)
    deltas = [f for f in out if f["type"] == "response.function_call_arguments.delta"]
    assert deltas == [
        {
            "type": "response.function_call_arguments.delta",
            "item_id": "fc_01",
            "output_index": 0,
            "delta": calls[0].arguments,
            "sequence_number": 3,
        }
    ]
    assert out[2]["item"] == {
        "id": "fc_01",
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": "call_01",
        "name": "exec_command",
    }
    client = assemble(out)
    assert client["output"][0]["arguments"] == calls[0].arguments
    assert client["completed"]["output"][0]["arguments"] == calls[0].arguments  # not the model's bytes


async def test_a_released_stream_assembles_to_the_models_answer() -> None:
    out = await round_trip(tool_stream())
    client = assemble(out)
    assert types(client["output"]) == ["reasoning", "message", "function_call"]
    assert client["output"][0]["encrypted_content"] == ENCRYPTED
    assert client["output"][1]["content"][0]["text"] == "I'll list the files."
    assert json.loads(client["output"][2]["arguments"]) == {"cmd": "ls -la", "workdir": "/home/dev"}
    assert client["completed"]["usage"]["total_tokens"] == 940


async def test_a_blocked_call_becomes_a_message_saying_why() -> None:
    guard = _Guard(lambda calls: Outcome([], BLOCK))
    out = await policed(guard, tool_stream())
    client = assemble(out)
    assert types(client["output"]) == ["reasoning", "message", "message"]
    block = client["output"][2]
    assert block["content"] == [{"type": "output_text", "text": BLOCK, "annotations": []}]
    kinds = [f["type"] for f in out if f.get("output_index") == 2]
    assert kinds == [
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
    ]
    assert not sent_calls(out) and not sent_calls(codex_view(out))
    assert [c.arguments for c in guard.seen[0]] == ['{"cmd":"ls -la","workdir":"/home/dev"}']
    assert out[-1]["type"] == "response.completed" and client["completed"]["status"] == "completed"


async def test_a_released_call_keeps_the_fields_of_the_models_item() -> None:
    items = tool_stream()
    for event in items:
        if event.get("item", {}).get("type") == "function_call":
            event["item"]["namespace"] = "mcp__docs"
    client = assemble(await round_trip(items))
    assert client["output"][2]["namespace"] == "mcp__docs" and client["output"][2]["status"] == "completed"
    assert client["completed"]["output"][2] == client["output"][2]


async def test_a_guard_releasing_an_edited_call_sends_the_edit_only() -> None:
    edited = ToolCall("call_01", "exec_command", '{"cmd":"ls"}')
    out = await policed(_Guard(lambda calls: Outcome([edited])), tool_stream())
    client = assemble(out)
    assert client["output"][2]["arguments"] == '{"cmd":"ls"}' and client["output"][2]["id"] == "fc_01"
    assert "ls -la" not in json.dumps([f for f in out if f.get("output_index") == 2])


async def test_all_caps_edits_the_text_and_every_done_that_repeats_it() -> None:
    items = tool_stream()
    out = await policed(AllCapsPolicy(), items)
    client = assemble(out)
    assert client["output"][1]["content"][0]["text"] == "I'LL LIST THE FILES."
    assert client["output"][0] == items[8]["item"]  # reasoning: the model's own, encrypted content and all
    edited = next(f for f in out if f["type"] == "response.output_text.delta")
    assert edited == {**items[11], "delta": "I'LL LIST "}
    text_done = next(f for f in out if f["type"] == "response.output_text.done")
    assert text_done["text"] == "I'LL LIST THE FILES." and text_done["logprobs"] == []
    assert "I'll list" not in json.dumps(out)


async def test_indices_stay_contiguous_when_items_are_dropped_added_and_replaced() -> None:
    items = stream(
        message_item(0, "one", item_id="msg_a"),
        call_item(1, '{"cmd":"a"}', "call_a", "fc_a"),
        message_item(2, "two", item_id="msg_b"),
        call_item(3, '{"cmd":"b"}', "call_b", "fc_b"),
    )

    def edit(event: StreamEvent) -> list[StreamEvent]:
        if isinstance(event, ToolCallEvent) and event.call.id == "call_a":
            return []  # dropped
        if isinstance(event, ToolCallEvent):
            return [TextDelta("[b replaced]"), TextDelta(" and noted.")]
        if isinstance(event, TextDelta) and event.text == "two":
            return [event, ToolCallEvent(ToolCall("call_new", "read_file", '{"path":"x"}'))]
        return [event]

    out = await round_trip(items, edit)
    client = assemble(out)  # asserts every index is the next one and every event names the open item
    assert types(client["output"]) == ["message", "message", "function_call", "message"]
    texts = [item["content"][0]["text"] for item in client["output"] if item["type"] == "message"]
    assert texts == ["one", "two", "[b replaced] and noted."]
    assert client["output"][2]["call_id"] == "call_new" and client["output"][2]["id"] == "fc_luthien_2"
    assert [f["output_index"] for f in out if f["type"] == "response.output_item.added"] == [0, 1, 2, 3]
    assert '"call_a"' not in json.dumps(out) and '"call_b"' not in json.dumps(out)


async def test_text_a_policy_says_first_opens_the_stream_once() -> None:
    items = stream(message_item(0, "hello"))
    codec, events = await events_of(items)
    out = [*codec.encode_frames(TextDelta("Note: ")), *(f for e in events for f in codec.encode_frames(e))]
    assert out[0] is items[0] and [f["type"] for f in out].count("response.created") == 1
    client = assemble(out)
    assert [item["content"][0]["text"] for item in client["output"]] == ["Note: ", "hello"]


async def test_a_policys_stop_completes_the_response_with_what_was_sent() -> None:
    items = stream(message_item(0, "kept"), end=False)
    codec, events = await events_of(items)
    out = [f for e in events for f in codec.encode_frames(e)]
    out += codec.encode_frames(TextDelta("and more")) + codec.encode_frames(Stop(0, None))
    client = assemble(out)
    assert client["completed"]["status"] == "completed" and len(client["output"]) == 2
    assert codec.encode_frames(TextDelta("too late")) == []


async def test_the_official_sdk_reads_a_policed_stream() -> None:
    out = await policed(_Guard(lambda calls: Outcome([], BLOCK)), tool_stream())
    body = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in out)
    transport = httpx.MockTransport(
        lambda request: httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})
    )
    client = openai.AsyncOpenAI(
        api_key="k", base_url="http://127.0.0.1:9/v1", http_client=httpx.AsyncClient(transport=transport)
    )
    async with client.responses.stream(model="gpt-5.1-codex", input="run: ls") as events:
        seen = [event.type async for event in events]
        final = await events.get_final_response()
    assert (
        seen.count("response.output_text.delta") == 3 and "response.function_call_arguments.delta" not in seen
    )
    assert final.output_text == "I'll list the files." + BLOCK
    assert [item.type for item in final.output] == ["reasoning", "message", "message"]
