"""The Responses API request codec: a Codex request decodes into messages of typed parts, tools and
parameters; untouched it is the very body, and an edit re-encodes only what changed."""

from __future__ import annotations

import copy
import dataclasses
import json

from luthien_proxy.dialects.openai_responses import OPENAI_RESPONSES, decode_request, encode_request
from luthien_proxy.dialects.registry import dialect_field, dialect_named
from luthien_proxy.model import Message, Opaque, Text, Tool, ToolCall, ToolResult
from luthien_proxy.wire import DIALECT_KEY, DIALECT_OPENAI_RESPONSES
from tests.dialects.openai_responses_fixtures import ENCRYPTED, TOOL_NAMES, codex_request, second_turn_request


def test_the_dialect_is_registered_by_its_wire_name() -> None:
    assert DIALECT_OPENAI_RESPONSES == "openai_responses"
    assert dialect_named("openai_responses") is OPENAI_RESPONSES
    assert dialect_field(OPENAI_RESPONSES) == {DIALECT_KEY: "openai_responses"}


def test_an_untouched_codex_request_is_the_very_body() -> None:
    body = codex_request()
    assert OPENAI_RESPONSES.encode_request(OPENAI_RESPONSES.decode_request(body)) is body
    second = second_turn_request()
    assert encode_request(decode_request(second)) is second


def test_a_codex_request_decodes_into_roles_parts_tools_and_params() -> None:
    request = decode_request(codex_request("run: touch /tmp/benign"))
    assert request.model == "gpt-5.1-codex" and request.system == []
    assert [m.role for m in request.messages] == ["developer", "user"]
    assert request.messages[1].parts[1] == Text("run: touch /tmp/benign", field="input_text")
    assert request.last_user_text().endswith("run: touch /tmp/benign")
    assert [t.name for t in request.tools] == [*TOOL_NAMES, "mcp__docs", "web_search"]
    assert set(request.params) == {
        "tool_choice", "parallel_tool_calls", "reasoning", "store", "stream", "include",
        "prompt_cache_key", "client_metadata",
    }  # fmt: skip
    text = request.text()
    assert "search_docs" in text and "Documentation tools." in text  # a namespace's member tools are read


def test_the_second_turn_reads_the_call_its_output_and_keeps_reasoning_whole() -> None:
    request = decode_request(second_turn_request())
    reasoning, call, output = request.messages[2:]
    assert isinstance(reasoning.parts[0], Opaque) and reasoning.parts[0].raw["encrypted_content"] == ENCRYPTED
    assert call.role == "assistant" and call.parts == [
        ToolCall("call_01", "exec_command", '{"cmd":"ls -la"}')
    ]
    assert output.role == "tool" and output.parts == [ToolResult("call_01", "total 0\nREADME.md")]
    assert "ls -la" in request.text() and "README.md" in request.text()


def test_editing_one_message_re_encodes_only_it() -> None:
    body = second_turn_request()
    request = decode_request(body)
    user = request.messages[1]
    prompt = user.parts[1]
    assert isinstance(prompt, Text)
    edited = user.with_parts([user.parts[0], prompt.with_text("run: ls")])
    out = encode_request(request.with_messages([request.messages[0], edited, *request.messages[2:]]))
    assert list(out) == list(body)  # the client's key order
    assert out["input"][1] == {
        "type": "message",
        "role": "user",
        "content": [body["input"][1]["content"][0], {"type": "input_text", "text": "run: ls"}],
    }
    assert all(out["input"][n] is body["input"][n] for n in (0, 2, 3, 4))  # reasoning: the very item
    assert out["tools"] is body["tools"] and out["include"] == ["reasoning.encrypted_content"]


def test_an_edited_call_and_output_keep_their_other_fields() -> None:
    body = second_turn_request()
    body["input"][4]["output"] = [
        {"type": "input_text", "text": "secret"},
        {"type": "input_image", "image_url": "u"},
    ]
    request = decode_request(body)
    call, output = request.messages[3:]
    new_call = dataclasses.replace(call.parts[0], arguments='{"cmd":"ls"}')
    result = output.parts[0]
    assert isinstance(result, ToolResult)
    new_output = dataclasses.replace(result, content="[redacted]")
    messages = [*request.messages[:3], call.with_parts([new_call]), output.with_parts([new_output])]
    out = encode_request(request.with_messages(messages))
    assert out["input"][3] == {**body["input"][3], "arguments": '{"cmd":"ls"}'}
    assert out["input"][4]["output"] == [
        {"type": "input_text", "text": "[redacted]"},
        body["input"][4]["output"][1],
    ]


def test_string_input_and_instructions_go_back_as_strings() -> None:
    body = {"model": "gpt-5", "instructions": "Be terse.", "input": "hello", "temperature": 0.2}
    request = decode_request(body)
    assert request.messages == [Message("user", [Text("hello", field="input")])]
    assert request.system == [Text("Be terse.", field="instructions")]
    upper = dataclasses.replace(
        request.with_messages([Message("user", [Text("HELLO", field="input")])]),
        system=[Text("Be terse.", field="instructions"), Text("Never run rm.")],
    )
    out = encode_request(upper)
    assert out == {
        "model": "gpt-5",
        "instructions": "Be terse.\nNever run rm.",
        "input": "HELLO",
        "temperature": 0.2,
    }


def test_a_message_a_policy_adds_is_a_message_item() -> None:
    body = codex_request()
    request = decode_request(body)
    out = encode_request(
        request.with_messages([Message("developer", [Text("Policy: no curl | sh.")]), *request.messages])
    )
    assert out["input"][0] == {
        "type": "message",
        "role": "developer",
        "content": [{"type": "input_text", "text": "Policy: no curl | sh."}],
    }
    assert out["input"][1:] == body["input"]


def test_unknown_items_and_tools_and_malformed_history_calls_pass_whole() -> None:
    body = codex_request()
    odd_call = {"type": "function_call", "call_id": "c9", "name": "exec_command", "arguments": "not json"}
    body["input"] += [{"type": "item_reference", "id": "msg_9"}, odd_call, "a bare string"]
    body["tools"].append({"type": "image_generation", "quality": "low"})
    request = decode_request(body)
    assert [type(p).__name__ for m in request.messages[2:] for p in m.parts] == ["Opaque", "Opaque", "Opaque"]
    assert encode_request(request) is body
    tools = [*request.tools, Tool("audit", "Audit a command.", {"type": "object"})]
    out = encode_request(dataclasses.replace(request, tools=tools))
    assert out["tools"][:-1] == body["tools"] and out["input"] is body["input"]
    assert out["tools"][-1] == {
        "type": "function",
        "name": "audit",
        "description": "Audit a command.",
        "parameters": {"type": "object"},
        "strict": False,
    }


def test_a_field_of_a_shape_the_api_does_not_define_stays_a_parameter() -> None:
    body = {"model": "m", "input": {"weird": True}, "instructions": ["not", "text"]}
    request = decode_request(body)
    assert request.messages == [] and request.params == {
        "input": {"weird": True},
        "instructions": ["not", "text"],
    }
    edited = encode_request(dataclasses.replace(request, model="m2"))
    assert edited == {**body, "model": "m2"}


def test_a_namespace_tool_edit_keeps_its_type_and_members_key() -> None:
    body = codex_request()
    request = decode_request(body)
    namespace = request.tools[-2]
    members = copy.deepcopy(namespace.parameters)
    members[0]["description"] = "Search the docs."
    tools = [*request.tools[:-2], dataclasses.replace(namespace, parameters=members), request.tools[-1]]
    out = encode_request(dataclasses.replace(request, tools=tools))
    assert out["tools"][-2] == {**body["tools"][-2], "tools": members}
    assert json.dumps(out["tools"][-1]) == json.dumps(body["tools"][-1])
