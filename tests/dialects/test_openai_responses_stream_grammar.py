"""The Responses API stream reader's grammar against a hostile model: an event for an item never
added, an index added twice, an `item_id` that is not its item's, text in a call, a call in a
message, an item done as another type, events outside the response. Each refuses the stream, and
what reached the client before is a well-formed stream with no call that was not whole."""

from __future__ import annotations

import json
from typing import Any

import pytest

from luthien_proxy.dialects.openai_responses import ResponsesStreamCodec
from luthien_proxy.model import Passthrough
from tests.dialects.openai_responses_client import assemble, client_gets, numbered, sent_calls, split_call
from tests.dialects.openai_responses_fixtures import (
    added,
    args_delta,
    call_added,
    call_item,
    completed,
    created,
    frames,
    item_done,
    message_item,
    reasoning_item,
    stream,
    text_delta,
    text_part,
)

Json = dict[str, Any]


def _message_done_with(content: list[Json]) -> Json:
    return item_done(
        0, {"id": "msg_01", "type": "message", "status": "completed", "content": content, "role": "assistant"}
    )


MESSAGE_OPEN = message_item(0)[:2]  # added, content_part.added
CALL_OPEN = [call_added(0)]


@pytest.mark.parametrize(
    ("items", "why"),
    [
        ([text_delta(3, "orphan")], "never added"),
        ([args_delta(3, '{"cmd":"rm -rf /"}')], "never added"),
        ([*MESSAGE_OPEN, text_delta(0, "x", item_id="msg_other")], "is not output item 0's"),
        ([*CALL_OPEN, args_delta(0, '{"cmd":"rm -rf /"}', item_id="fc_other")], "is not output item 0's"),
        ([*CALL_OPEN, call_added(0, "call_02", "fc_02")], "added twice"),
        ([*MESSAGE_OPEN, added(0, {"id": "msg_2", "type": "message", "content": []})], "added twice"),
        ([*CALL_OPEN, text_delta(0, "rm -rf /", item_id="fc_01")], "carries only its argument events"),
        ([*MESSAGE_OPEN, args_delta(0, '{"cmd":"rm -rf /"}', item_id="msg_01")], "a message item"),
        ([*call_item(0, "{}"), *call_item(1, "{}", item_id="fc_02")], "share the call_id"),
        ([*call_item(0, '{"cmd":"ls"}'), args_delta(0, ', "x": "rm -rf /"}')], "after its done"),
        (
            [*MESSAGE_OPEN, {**MESSAGE_OPEN[1], "content_index": 1, "part": {"type": "function_call"}}],
            "may not carry",
        ),
        (
            [*MESSAGE_OPEN, _message_done_with([{"type": "function_call", "name": "exec_command"}])],
            "not a message's part",
        ),
        (
            [
                added(0, {"id": "rs_1", "type": "reasoning", "summary": []}),
                item_done(0, {**call_added(0)["item"], "id": "rs_1"}),
            ],
            "done as another",
        ),
        ([added(0, {"id": "ls_1", "type": "local_shell_call", "call_id": "c"})], "cannot be judged"),
        ([added(0, {"id": "m", "type": "message", "content": [text_part("rm -rf /")]})], "may not carry"),
        (
            [*MESSAGE_OPEN, text_delta(0, "a"), {**message_item(0, "a")[3], "text": "b"}],
            "disagrees with its deltas",
        ),
        ([*MESSAGE_OPEN[:1], text_delta(0, "x")], "not open"),
        ([*split_call(0, ['{"cmd":"ls"}'], arguments='{"cmd":"rm -rf /"}')], "disagree on its arguments"),
        (
            [*CALL_OPEN, {"type": "response.function_call_arguments.delta", "output_index": 0, "delta": 7}],
            "must be a string",
        ),
        (
            [*CALL_OPEN, item_done(0, {**call_added(0)["item"], "name": "other", "arguments": "{}"})],
            "disagree on its name",
        ),
        (
            [*CALL_OPEN, {"type": "response.custom_tool_call_input.delta", "item_id": "fc_01", "delta": "x"}],
            "output_index",
        ),
        ([{"type": "response.output_text.delta", "output_index": True, "delta": "x"}], "output_index"),
        ([*reasoning_item(0)[:1], text_delta(0, "unread", item_id="rs_01")], "a reasoning item"),
        ([created()], "one response.created"),
        (["data: {}"], "JSON object"),
    ],
)
async def test_an_event_out_of_grammar_refuses_the_stream(items: list[Json], why: str) -> None:
    out, refusal = await client_gets(numbered([created(), *items]))
    assert refusal is not None and why in str(refusal), refusal
    sent = json.dumps(out)
    assert not any(marker in sent for marker in ("rm -rf", "orphan", "call_02", '"other"'))
    assemble(out)  # what reached the client (a call only when it was whole) is a well-formed stream


@pytest.mark.parametrize(
    "items",
    [
        [text_delta(0, "x")],
        [*stream(message_item(0, "a")), *call_item(1, '{"cmd":"rm -rf /"}')],
        [*stream(message_item(0, "a")), completed([])],
        [{"type": "response.created", "response": "resp_01"}],
        [*stream(message_item(0, "a"), end=False), {"type": "response.completed", "response": None}],
    ],
)
async def test_events_outside_the_response_are_refused(items: list[Json]) -> None:
    out, refusal = await client_gets(items)
    assert refusal is not None and (
        "outside the response" in str(refusal) or "before the response ended" in str(refusal)
    )
    assert not sent_calls(out) and "rm -rf" not in json.dumps(out)


async def test_a_message_added_without_content_is_given_an_empty_list() -> None:
    whole = message_item(0, "hi")
    del whole[0]["item"]["content"]
    out, refusal = await client_gets(stream(whole))
    assert refusal is None and out[2]["item"]["content"] == []
    assert assemble(out)["output"][0]["content"][0]["text"] == "hi"


async def test_interleaved_items_stream_the_text_and_hold_the_call() -> None:
    message = message_item(0, "Let me ", "check.")
    call = call_item(1, '{"cmd": "ls"}', pieces=2)
    items = stream([*message[:3], call[0], call[1], message[3], call[2], call[3], call[4], *message[4:]])
    codec = ResponsesStreamCodec()
    events = [e async for e in codec.decode(frames(items))]
    kinds = [type(e).__name__ for e in events if not isinstance(e, Passthrough)]
    assert kinds == ["TextDelta", "TextDelta", "ToolCallEvent", "Stop"]
    client = assemble([f for e in events for f in codec.encode_frames(e)])
    assert [item["type"] for item in client["output"]] == ["message", "function_call"]
    assert (
        client["output"][0]["content"][0]["text"] == "Let me check."
        and client["output"][1]["arguments"] == '{"cmd":"ls"}'
    )
