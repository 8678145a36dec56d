"""The Anthropic Messages response codec: an untouched answer is the very JSON, a call is read
strictly and written back from what the policy released, and a removed call ends the turn."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.dialects.anthropic_messages import (
    ANTHROPIC_MESSAGES,
    decode_response,
    encode_response,
    frame_text,
    message_text,
)
from luthien_proxy.model import MalformedToolCall, Opaque, Response, Text, ToolCall
from luthien_proxy.pipeline.policing import police_response
from luthien_proxy.policies import PolicyContext
from luthien_proxy.policies.all_caps import AllCapsPolicy
from luthien_proxy.protocols.toolcalls import Outcome, apply_to_response
from tests.dialects.anthropic_messages_fixtures import SIGNATURE

Json = dict[str, Any]
THINKING: Json = {"type": "thinking", "thinking": "list them", "signature": SIGNATURE}


def message(*content: Json, stop: str = "end_turn") -> Json:
    return {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": list(content),
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }


def bash(command: str, call_id: str = "toolu_01", **extra: Any) -> Json:
    return {"type": "tool_use", "id": call_id, "name": "Bash", "input": {"command": command}, **extra}


def with_call() -> Json:
    return message(THINKING, {"type": "text", "text": "Running it."}, bash("ls -la"), stop="tool_use")


def test_an_untouched_answer_is_the_very_body() -> None:
    body = message(THINKING, {"type": "text", "text": "Hello.", "citations": None})
    assert ANTHROPIC_MESSAGES.encode_response(ANTHROPIC_MESSAGES.decode_response(body)) is body


def test_an_untouched_answer_with_a_call_is_the_same_json_and_the_call_is_canonical() -> None:
    body = with_call()
    body["content"][2]["input"] = {"command": "ls -la", "n": 1.50}
    response = decode_response(body)
    (call,) = response.tool_calls()
    assert call == ToolCall("toolu_01", "Bash", '{"command":"ls -la","n":1.5}')
    out = encode_response(response)
    assert json.dumps(out) == json.dumps(body) and out["stop_reason"] == "tool_use"


def test_thinking_is_opaque_so_an_all_caps_policy_leaves_it_and_its_signature() -> None:
    body = message(THINKING, {"type": "text", "text": "hello"})
    response = decode_response(body)
    assert isinstance(response.choices[0].parts[0], Opaque)
    out = encode_response(response.map_text(str.upper))
    assert out["content"] == [THINKING, {"type": "text", "text": "HELLO"}]
    assert out["content"][0] is body["content"][0]


def test_a_call_replaced_by_text_gives_a_text_block_and_end_turn() -> None:
    body = with_call()
    response = decode_response(body)
    blocked = apply_to_response(response, response.tool_calls(), Outcome([], "Blocked: ls is not allowed."))
    out = encode_response(blocked)
    assert out["content"] == [
        THINKING,
        {"type": "text", "text": "Running it."},
        {"type": "text", "text": "Blocked: ls is not allowed."},
    ]
    assert out["stop_reason"] == "end_turn"
    assert {k: v for k, v in out.items() if k not in ("content", "stop_reason")} == {
        k: v for k, v in body.items() if k not in ("content", "stop_reason")
    }


def test_an_edited_call_keeps_its_block_fields_and_a_released_one_keeps_tool_use() -> None:
    body = message(bash("rm -rf /", caller={"type": "direct"}), stop="tool_use")
    response = decode_response(body)
    (call,) = response.tool_calls()
    edited = dataclasses.replace(call, arguments='{"command":"echo refused"}')
    out = encode_response(apply_to_response(response, [call], Outcome([edited])))
    assert out["content"] == [bash("echo refused", caller={"type": "direct"})]
    assert list(out["content"][0]) == list(body["content"][0]) and out["stop_reason"] == "tool_use"


def test_a_call_a_policy_adds_turns_end_turn_into_tool_use() -> None:
    response = decode_response(message({"type": "text", "text": "ok"}))
    choice = response.choices[0]
    added = choice.with_parts([*choice.parts, ToolCall("toolu_9", "Read", '{"file_path":"a.txt"}')])
    out = encode_response(dataclasses.replace(response, choices=[added]))
    assert out["content"][1] == {
        "type": "tool_use",
        "id": "toolu_9",
        "name": "Read",
        "input": {"file_path": "a.txt"},
    }
    assert out["stop_reason"] == "tool_use"


def test_a_response_a_policy_builds_from_nothing_is_a_message() -> None:
    out = encode_response(Response([], model="m"))
    assert out == {
        "type": "message",
        "role": "assistant",
        "model": "m",
        "content": [],
        "stop_reason": "end_turn",
    }
    with pytest.raises(ValueError, match="one choice"):
        encode_response(
            dataclasses.replace(
                decode_response(with_call()), choices=[*decode_response(with_call()).choices] * 2
            )
        )


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ({"type": "tool_use", "id": "t", "name": "Bash", "input": "rm -rf /"}, "must be an object"),
        ({"type": "tool_use", "id": "t", "name": ["Bash"], "input": {}}, "name must be a string"),
        ({"type": "tool_use", "id": 7, "name": "Bash", "input": {}}, "id must be a string"),
        ({"type": "tool_use", "id": "t", "name": "Bash", "input": {"n": float("nan")}}, "not valid JSON"),
        ({"type": "text", "text": 5}, "text must be a string"),
        ("a string block", "must be an object"),
    ],
)
def test_a_malformed_block_refuses_the_answer(content: Any, why: str) -> None:
    with pytest.raises(MalformedToolCall, match=why):
        decode_response(message(content))


def test_duplicate_ids_too_many_calls_and_non_list_content_are_refused() -> None:
    with pytest.raises(MalformedToolCall, match="share one id"):
        decode_response(message(bash("ls"), bash("rm -rf /"), stop="tool_use"))
    with pytest.raises(MalformedToolCall, match="at most 128"):
        decode_response(message(*(bash("ls", f"t{n}") for n in range(129))))
    with pytest.raises(MalformedToolCall, match="list of blocks"):
        decode_response({**message(), "content": {"type": "tool_use"}})


async def test_policing_a_response_in_this_dialect_applies_the_policy() -> None:
    body = with_call()
    sent = copy.deepcopy(body)
    ctx = PolicyContext("c", None, {}, InProcessPolicyState())
    out = await police_response(AllCapsPolicy(), body, ctx, ANTHROPIC_MESSAGES)
    assert out["content"][0] == THINKING and out["content"][1] == {"type": "text", "text": "RUNNING IT."}
    assert out["content"][2] == bash("ls -la") and out["stop_reason"] == "tool_use"
    assert body == sent
    assert isinstance(decode_response(out).choices[0].parts[1], Text)


def test_the_text_readers_see_text_and_thinking_but_not_calls() -> None:
    assert message_text(with_call()) == "list them\nRunning it."
    assert message_text({"role": "user", "content": "hi"}) == "hi"
    assert (
        frame_text({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "a"}})
        == "a"
    )
    assert (
        frame_text(
            {
                "type": "content_block_delta",
                "index": 0,
                "delta": {"type": "input_json_delta", "partial_json": "{"},
            }
        )
        == ""
    )
    assert frame_text({"type": "ping"}) == ""
