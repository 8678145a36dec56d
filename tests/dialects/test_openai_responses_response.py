"""The Responses API response codec: an untouched answer is the very JSON, a function_call is read
strictly and written back from what the policy released, and a blocked one becomes a message."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest
from openai.types.responses import Response as SdkResponse

from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.dialects.openai_responses import (
    OPENAI_RESPONSES,
    decode_response,
    encode_response,
    frame_text,
    response_text,
)
from luthien_proxy.model import MalformedToolCall, Opaque, Text, ToolCall
from luthien_proxy.pipeline.policing import police_response
from luthien_proxy.policies import PolicyContext
from luthien_proxy.policies.all_caps import AllCapsPolicy
from luthien_proxy.protocols.toolcalls import Outcome, apply_to_response
from tests.dialects.openai_responses_fixtures import ENCRYPTED, response_object, text_part

Json = dict[str, Any]
REASONING: Json = {
    "id": "rs_01",
    "type": "reasoning",
    "summary": [{"type": "summary_text", "text": "List them."}],
    "encrypted_content": ENCRYPTED,
}


def message(text: str, item_id: str = "msg_01") -> Json:
    part = {
        **text_part(text),
        "logprobs": [{"token": "x", "logprob": -0.1, "bytes": [120], "top_logprobs": []}],
    }
    return {"id": item_id, "type": "message", "status": "completed", "content": [part], "role": "assistant"}


def call(arguments: str = '{"cmd":"ls -la"}', call_id: str = "call_01", **extra: Any) -> Json:
    fields = {"id": "fc_01", "type": "function_call", "status": "completed", "arguments": arguments}
    return {**fields, "call_id": call_id, "name": "exec_command", **extra}


def answer(*output: Json) -> Json:
    return response_object("completed", list(output))


def test_an_untouched_answer_is_the_very_body() -> None:
    body = answer(REASONING, message("Hello."))
    assert OPENAI_RESPONSES.encode_response(OPENAI_RESPONSES.decode_response(body)) is body
    assert response_text(body) == "List them.\nHello."


def test_a_call_is_canonical_and_an_untouched_answer_with_one_is_the_same_json() -> None:
    body = answer(REASONING, message("Running it."), call('{"cmd": "ls -la", "n": 1.50}', namespace="shell"))
    response = decode_response(body)
    assert response.tool_calls() == [ToolCall("call_01", "exec_command", '{"cmd":"ls -la","n":1.5}')]
    assert isinstance(response.choices[0].parts[0], Opaque) and response.choices[0].stop_reason == "completed"
    out = encode_response(response)
    assert out["output"][2] == {
        **body["output"][2],
        "arguments": '{"cmd":"ls -la","n":1.5}',
    }  # namespace kept
    canonical = answer(REASONING, message("Running it."), call())
    assert json.dumps(encode_response(decode_response(canonical))) == json.dumps(canonical)


def test_a_blocked_call_is_replaced_by_a_message_saying_why() -> None:
    body = answer(REASONING, message("Running it."), call('{"cmd":"curl x | sh"}'))
    response = decode_response(body)
    blocked = apply_to_response(
        response, response.tool_calls(), Outcome([], "Blocked: curl | sh is not allowed.")
    )
    out = encode_response(blocked)
    assert [item["type"] for item in out["output"]] == ["reasoning", "message", "message"]
    assert out["output"][0] is body["output"][0] and out["output"][1] is body["output"][1]
    assert out["output"][2] == {
        "id": "msg_luthien_2",
        "type": "message",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": "Blocked: curl | sh is not allowed.", "annotations": []}],
    }
    assert "curl" not in json.dumps(out["output"][:2]) and "function_call" not in json.dumps(out)
    assert out["usage"] == body["usage"] and out["status"] == "completed"
    assert SdkResponse.model_validate(out).output_text == "Running it.Blocked: curl | sh is not allowed."


async def test_all_caps_edits_text_drops_its_logprobs_and_leaves_reasoning_alone() -> None:
    body = answer(REASONING, message("hello"), call())
    ctx = PolicyContext("c", None, {}, InProcessPolicyState())
    out = await police_response(AllCapsPolicy(), copy.deepcopy(body), ctx, OPENAI_RESPONSES)
    assert out["output"][0] == REASONING
    assert out["output"][1]["content"] == [{"type": "output_text", "annotations": [], "text": "HELLO"}]
    assert out["output"][2] == call()


def test_a_message_split_by_a_call_keeps_one_id_per_item() -> None:
    two = {**message("a"), "content": [text_part("a"), text_part("b")]}
    response = decode_response(answer(two))
    first, second = response.choices[0].parts
    inserted = ToolCall("call_9", "read_file", '{"path":"x"}')
    split = dataclasses.replace(response, choices=[response.choices[0].with_parts([first, inserted, second])])
    items = encode_response(split)["output"]
    assert [item["type"] for item in items] == ["message", "function_call", "message"]
    assert items[0]["id"] == "msg_01" and items[2]["id"] == "msg_luthien_2"
    assert items[0]["content"] == [text_part("a")] and items[2]["content"] == [text_part("b")]
    assert items[1] == {
        "type": "function_call",
        "call_id": "call_9",
        "name": "read_file",
        "arguments": '{"path":"x"}',
    }


@pytest.mark.parametrize(
    ("output", "why"),
    [
        ([call("not json")], "not valid JSON"),
        ([call('["rm", "-rf"]')], "must be a JSON object"),
        ([call(), call(call_id="call_01")], "share one call_id"),
        ([call(call_id=7)], "call_id must be a string"),  # type: ignore[arg-type]
        (
            [
                {
                    **message("x"),
                    "content": [{"type": "function_call", "name": "exec_command", "arguments": "{}"}],
                }
            ],
            "may not carry",
        ),
        ([{**message("x"), "content": [{"type": "output_text", "text": 5}]}], "may not carry"),
        (
            [{"type": "local_shell_call", "call_id": "c", "action": {"command": ["rm", "-rf", "/"]}}],
            "cannot be judged",
        ),
        ([{"type": "apply_patch_call", "call_id": "c"}], "cannot be judged"),
        (["a string"], "must be an object"),
    ],
)
def test_a_hostile_answer_is_refused(output: list[Any], why: str) -> None:
    with pytest.raises(MalformedToolCall, match=why):
        decode_response(answer(*output))


def test_output_that_is_not_a_list_is_refused() -> None:
    with pytest.raises(MalformedToolCall, match="must be a list"):
        decode_response({**answer(), "output": {"type": "function_call"}})


def test_unknown_items_pass_whole_and_text_is_read_from_messages_and_refusals() -> None:
    search = {"id": "ws_1", "type": "web_search_call", "status": "completed", "action": {"query": "x"}}
    refusal = {**message("x"), "content": [{"type": "refusal", "refusal": "I can't."}]}
    body = answer(search, refusal)
    response = decode_response(body)
    assert response.choices[0].parts == [
        Opaque(search, field="web_search_call"),
        Text("I can't.", field="refusal"),
    ]
    assert encode_response(response.map_text(str.upper))["output"][1]["content"] == [
        {"type": "refusal", "refusal": "I CAN'T."}
    ]
    assert frame_text({"type": "response.refusal.delta", "delta": "no"}) == "no"
    assert frame_text({"type": "response.output_text.done", "text": "twice"}) == ""
