"""The OpenAI chat codec on requests and completions: untouched input goes back as the very JSON it
came from, an edit re-encodes only what changed, and a call reaches the client only as judged."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import pytest

from luthien_proxy.dialects.openai_chat import (
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from luthien_proxy.model import MalformedToolCall, Message, Text, ToolCall

Json = dict[str, Any]

REQUEST: Json = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "hi"},
                {"type": "image_url", "image_url": {"url": "x"}},
                {"type": "x_hologram", "data": [1, 2]},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "lister", "arguments": '{"d": 1}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "file.txt"},
        {"role": "critic", "content": "an unknown role", "x_vendor": 1},
    ],
    "tools": [
        {
            "type": "function",
            "function": {"name": "runner", "description": "runs things", "parameters": {"x_schema": 1}},
        }
    ],
    "temperature": 0.2,
    "x_unknown_field": {"kept": True},
}


def upper_message(message: Message) -> Message:
    return message.with_parts(
        [p.with_text(p.text.upper()) if isinstance(p, Text) else p for p in message.parts]
    )


def edit_message(body: Json, position: int) -> Json:
    request = decode_request(body)
    messages = list(request.messages)
    messages[position] = upper_message(messages[position])
    return encode_request(request.with_messages(messages))


def test_an_untouched_request_is_the_very_body_the_client_sent() -> None:
    assert encode_request(decode_request(REQUEST)) is REQUEST


def test_an_edit_re_encodes_only_the_changed_message_and_keeps_every_unknown_field() -> None:
    sent = copy.deepcopy(REQUEST)
    body = edit_message(sent, 1)
    assert body["messages"][1] == {
        "role": "user",
        "content": [{"type": "text", "text": "HI"}, *sent["messages"][1]["content"][1:]],
    }
    assert all(body["messages"][i] is sent["messages"][i] for i in (0, 2, 3, 4))
    assert body["x_unknown_field"] is sent["x_unknown_field"] and body["temperature"] == 0.2
    assert body["tools"] is sent["tools"] and list(body) == list(sent)
    assert sent == REQUEST  # the client's body is not mutated


def test_an_edited_message_of_an_unknown_role_keeps_its_role_and_fields() -> None:
    body = edit_message(REQUEST, 4)
    assert body["messages"][4] == {"role": "critic", "content": "AN UNKNOWN ROLE", "x_vendor": 1}
    assert body["messages"][:4] == REQUEST["messages"][:4]


def test_a_message_a_policy_adds_is_sent() -> None:
    request = decode_request(REQUEST)
    added = Message("user", [Text("remember the rules")])
    body = encode_request(request.with_messages([*request.messages, added]))
    assert body["messages"] == [*REQUEST["messages"], {"role": "user", "content": "remember the rules"}]


def test_system_text_a_policy_adds_to_a_chat_request_becomes_a_system_message() -> None:
    request = decode_request({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
    body = encode_request(replace(request, system=[Text("be safe")]))
    assert body["messages"] == [{"role": "system", "content": "be safe"}, {"role": "user", "content": "hi"}]


def test_an_edited_prompt_of_a_completion_route_is_what_is_sent() -> None:
    body = edit_message({"model": "m", "prompt": "secret", "max_tokens": 3}, 0)
    assert body == {"model": "m", "prompt": "SECRET", "max_tokens": 3}


def test_an_edited_instructions_string_is_sent_and_an_input_list_it_cannot_rebuild_is_refused() -> None:
    sent = {"model": "m", "instructions": "secret", "input": [{"role": "user", "content": "secret"}]}
    request = decode_request(sent)
    body = encode_request(replace(request, system=[Text("X", field="instructions")]))
    assert body == {**sent, "instructions": "X"}
    with pytest.raises(ValueError, match="'input'"):  # never sent with the text the policy removed
        encode_request(request.with_messages([upper_message(m) for m in request.messages]))


def test_legacy_functions_stay_functions_when_a_message_is_edited() -> None:
    sent = {**REQUEST, "functions": REQUEST["tools"]}
    del sent["tools"]
    body = edit_message(sent, 1)
    assert body["functions"] is sent["functions"] and "tools" not in body


def test_request_text_covers_messages_history_calls_results_and_tools() -> None:
    text = decode_request(REQUEST).text()
    pieces = ("be brief", "hi", "lister", '{"d": 1}', "file.txt", "an unknown role", "runner", "runs things")
    for piece in (*pieces, '"x_schema"'):
        assert piece in text, piece


def test_request_text_covers_the_text_fields_of_other_routes() -> None:
    body = {
        "model": "m",
        "system": [{"type": "text", "text": "SYSTEM"}],
        "instructions": "INSTRUCTIONS",
        "prompt": ["PROMPT"],
        "input": [
            {"role": "user", "content": [{"type": "input_text", "text": "INPUT"}]},
            {"type": "function_call", "arguments": "ARGUMENTS"},
            {"type": "function_call_output", "output": "OUTPUT"},
        ],
    }
    text = decode_request(body).text()
    for piece in ("SYSTEM", "INSTRUCTIONS", "PROMPT", "INPUT", "ARGUMENTS", "OUTPUT"):
        assert piece in text, piece


def call_choice(index: int, *calls: Json, **extra: Any) -> Json:
    message = {"role": "assistant", "content": "Sure.", "tool_calls": list(calls)}
    return {"index": index, "message": message, "finish_reason": "tool_calls", **extra}


def function_call(call_id: str, arguments: str) -> Json:
    return {"id": call_id, "type": "function", "function": {"name": "run", "arguments": arguments}}


def test_a_choice_without_calls_goes_back_as_the_very_object() -> None:
    plain = {
        "index": 0,
        "message": {"role": "assistant", "content": "ok", "x_vendor": 2},
        "finish_reason": "stop",
    }
    body = {"id": "r", "choices": [plain], "usage": {"total_tokens": 3}, "system_fingerprint": "fp"}
    out = encode_response(decode_response(body))
    assert out == body and out["choices"][0] is plain


def test_a_call_choice_is_written_from_the_canonical_call_without_logprobs() -> None:
    plain = {"index": 1, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}
    call = call_choice(
        0, function_call("c", '{"cmd": "\\u0072m -rf /"}'), logprobs={"content": [{"token": "rm"}]}
    )
    out = encode_response(decode_response({"id": "r", "choices": [call, plain]}))
    written = out["choices"][0]
    assert written["message"]["tool_calls"] == [function_call("c", '{"cmd":"rm -rf /"}')]
    assert "logprobs" not in written and written["finish_reason"] == "tool_calls"
    assert written["message"]["content"] == "Sure." and out["choices"][1] is plain


def test_a_legacy_function_call_stays_one_with_canonical_arguments() -> None:
    message = {"role": "assistant", "content": None, "function_call": {"name": "f", "arguments": '{"a": 1}'}}
    body = {"choices": [{"index": 0, "message": message, "finish_reason": "function_call"}]}
    choice = encode_response(decode_response(body))["choices"][0]
    assert choice["message"]["function_call"] == {"name": "f", "arguments": '{"a":1}'}
    assert choice["finish_reason"] == "function_call" and "tool_calls" not in choice["message"]


def test_removing_every_call_ends_the_choice_with_stop() -> None:
    body = {"choices": [call_choice(0, function_call("c", "{}"), logprobs={"content": []})]}
    response = decode_response(body).map_parts(lambda part: None if isinstance(part, ToolCall) else part)
    choice = encode_response(response)["choices"][0]
    assert choice == {
        "index": 0,
        "message": {"role": "assistant", "content": "Sure."},
        "finish_reason": "stop",
    }


def test_removing_one_of_two_calls_sends_only_the_other() -> None:
    body = {"choices": [call_choice(0, function_call("a", "{}"), function_call("b", '{"x": 1}'))]}
    response = decode_response(body).map_parts(
        lambda p: None if isinstance(p, ToolCall) and p.id == "a" else p
    )
    choice = encode_response(response)["choices"][0]
    assert choice["message"]["tool_calls"] == [function_call("b", '{"x":1}')]
    assert choice["finish_reason"] == "tool_calls"


def test_an_edited_text_keeps_the_message_fields_but_not_the_logprobs_that_spell_the_original() -> None:
    logprobs = {"content": [{"token": "secret"}]}
    message = {"role": "assistant", "content": "secret", "x_vendor": 2}
    body = {
        "id": "r",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop", "logprobs": logprobs}],
    }
    out = encode_response(decode_response(body).map_text(lambda text: "[redacted]"))
    assert out == {
        "id": "r",
        "choices": [
            {"index": 0, "message": {**message, "content": "[redacted]"}, "finish_reason": "stop"},
        ],
    }


def test_a_call_whose_arguments_are_not_a_json_object_is_refused() -> None:
    with pytest.raises(MalformedToolCall):
        decode_response({"choices": [call_choice(0, function_call("c", '["rm", "-rf", "/"]'))]})
