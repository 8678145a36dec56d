"""The Anthropic Messages request codec: an untouched Claude Code body goes back as the very JSON,
every field and role read, and a policy's edit re-encodes only what it changed."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

from luthien_proxy.dialects.anthropic_messages import ANTHROPIC_MESSAGES, decode_request, encode_request
from luthien_proxy.model import Message, Opaque, Reasoning, Request, Text, Tool, ToolCall, ToolResult
from tests.dialects.anthropic_messages_fixtures import (
    SIGNATURE,
    TOOL_NAMES,
    claude_code_request,
    second_turn_request,
)

Json = dict[str, Any]


def dumps(body: Any) -> str:
    return json.dumps(body, ensure_ascii=False)  # key order matters: no sort_keys


def edit_message(request: Request, position: int, parts: list[Any]) -> Request:
    messages = list(request.messages)
    messages[position] = messages[position].with_parts(parts)
    return request.with_messages(messages)


def test_the_dialect_is_named_and_wires_the_request_codec() -> None:
    assert ANTHROPIC_MESSAGES.name == "anthropic_messages"
    assert ANTHROPIC_MESSAGES.decode_request is decode_request
    assert ANTHROPIC_MESSAGES.encode_request is encode_request


def test_an_untouched_claude_code_request_is_the_very_body() -> None:
    for body in (claude_code_request(), second_turn_request()):
        sent = copy.deepcopy(body)
        assert encode_request(decode_request(body)) is body
        assert dumps(body) == dumps(sent)  # decoding did not mutate it


def test_every_field_of_a_claude_code_request_is_read() -> None:
    body = claude_code_request()
    request = decode_request(body)
    assert request.model == "claude-sonnet-4-5-20250929"
    assert [p.text for p in request.system if isinstance(p, Text)] == [b["text"] for b in body["system"]]
    first = request.system[0]
    assert isinstance(first, Text) and first.raw is body["system"][0]  # cache_control kept with the block
    assert [m.role for m in request.messages] == ["user", "system"]
    assert request.messages[1].parts == [
        Text("The user is in /home/dev/project. Today is 2026-03-01.", "text")
    ]
    assert [t.name for t in request.tools] == TOOL_NAMES
    assert request.tools[1].parameters["required"] == ["command"]
    assert request.params == {k: body[k] for k in body if k not in ("model", "system", "messages", "tools")}
    assert json.loads(request.params["metadata"]["user_id"])["session_id"] == "5e551on-0001"
    assert request.last_user_text().endswith("run: ls -la")


def test_a_second_turn_reads_thinking_calls_and_results() -> None:
    request = decode_request(second_turn_request())
    thinking, said, call = request.messages[2].parts
    assert isinstance(thinking, Reasoning) and thinking.text == "I should list the files."
    assert thinking.raw["signature"] == SIGNATURE
    assert said == Text("Listing.", "text")
    assert call == ToolCall("toolu_01", "Bash", '{"command":"ls -la","description":"List files"}')
    result, thanks = request.messages[3].parts
    assert result == ToolResult("toolu_01", "total 0\nREADME.md", False)
    assert thanks == Text("thanks", "text")
    assert "ls -la" in request.text() and "README.md" in request.text()


def test_an_edited_user_text_re_encodes_only_that_block() -> None:
    body = claude_code_request()
    request = decode_request(body)
    first, prompt = request.messages[0].parts
    assert isinstance(prompt, Text)
    out = encode_request(edit_message(request, 0, [first, prompt.with_text("run: [redacted]")]))
    expected = copy.deepcopy(body)
    expected["messages"][0]["content"][1]["text"] = "run: [redacted]"
    assert dumps(out) == dumps(expected)  # same keys, same order, cache_control kept
    assert out["system"] is body["system"] and out["tools"] is body["tools"]
    assert out["messages"][1] is body["messages"][1]  # the system-role entry passes untouched


def test_an_edited_system_block_keeps_its_cache_control_and_the_other_block() -> None:
    body = claude_code_request()
    request = decode_request(body)
    first, second = request.system
    assert isinstance(second, Text)
    out = encode_request(dataclasses.replace(request, system=[first, second.with_text("Be brief.")]))
    assert out["system"][0] is body["system"][0]
    assert out["system"][1] == {"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}
    assert out["messages"] is not body["messages"] and out["messages"] == body["messages"]
    assert list(out) == list(body)


def test_a_string_system_stays_a_string_and_added_text_goes_on_its_own_line() -> None:
    body = {
        "model": "m",
        "max_tokens": 10,
        "system": "Be kind.",
        "messages": [{"role": "user", "content": "hi"}],
    }
    request = decode_request(body)
    out = encode_request(dataclasses.replace(request, system=[*request.system, Text("Never run rm.")]))
    assert out == {**body, "system": "Be kind.\nNever run rm."}
    edited = encode_request(edit_message(request, 0, [Text("HI", "text")]))
    assert edited["messages"] == [{"role": "user", "content": "HI"}] and list(edited) == list(body)


def test_a_message_a_policy_adds_is_sent_as_blocks() -> None:
    body = claude_code_request()
    request = decode_request(body)
    added = Message("user", [Text("Remember: no network.")])
    out = encode_request(request.with_messages([*request.messages, added]))
    assert out["messages"][:2] == body["messages"] and out["messages"][0] is body["messages"][0]
    assert out["messages"][2] == {
        "role": "user",
        "content": [{"type": "text", "text": "Remember: no network."}],
    }


def test_an_edited_tool_result_keeps_its_other_blocks_and_fields() -> None:
    body = second_turn_request()
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}
    listed = {
        "type": "tool_result",
        "tool_use_id": "toolu_01",
        "content": [{"type": "text", "text": "A"}, image],
    }
    body["messages"][3]["content"] = [body["messages"][3]["content"][0], listed]
    request = decode_request(body)
    as_string, as_list = request.messages[3].parts
    assert isinstance(as_string, ToolResult) and isinstance(as_list, ToolResult) and as_list.content == "A"
    redacted = [dataclasses.replace(r, content="[secret removed]") for r in (as_string, as_list)]
    out = encode_request(edit_message(request, 3, redacted))
    string_block, list_block = out["messages"][3]["content"]
    assert string_block == {**body["messages"][3]["content"][0], "content": "[secret removed]"}
    assert list_block["content"] == [{"type": "text", "text": "[secret removed]"}, image]
    assert out["messages"][2] is body["messages"][2]


def test_an_edited_thinking_text_never_touches_its_signature() -> None:
    body = second_turn_request()
    request = decode_request(body)
    thinking, said, call = request.messages[2].parts
    assert isinstance(thinking, Reasoning)
    out = encode_request(edit_message(request, 2, [thinking.with_text("[hidden]"), said, call]))
    block = out["messages"][2]["content"][0]
    assert block == {"type": "thinking", "thinking": "[hidden]", "signature": SIGNATURE}
    # The call keeps the fields the client gave it (cache_control), its input from the arguments.
    assert out["messages"][2]["content"][2] == body["messages"][2]["content"][2]


def test_unknown_blocks_roles_and_shapes_pass_through_untouched() -> None:
    odd: list[Any] = [
        {"role": "user", "content": [{"type": "document", "source": {"type": "text", "data": "x"}}]},
        {"role": "assistant", "content": [{"type": "server_tool_use", "id": "srv", "name": "web_search"}]},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": "rm"}]},
        {"role": "developer", "content": 7},
        "not a message",
    ]
    body: Json = {"model": "m", "messages": odd, "future_field": {"a": 1}}
    request = decode_request(body)
    assert [type(m.parts[0]) for m in request.messages] == [Opaque] * 5
    assert encode_request(request) is body
    edited = edit_message(request, 0, [*request.messages[0].parts, Text("note")])
    out = encode_request(edited)
    assert out["messages"][0]["content"] == [odd[0]["content"][0], {"type": "text", "text": "note"}]
    assert out["messages"][1:] == odd[1:] and out["future_field"] is body["future_field"]


def test_tools_server_tools_kept_and_a_removed_tool_leaves_the_others_as_sent() -> None:
    body = claude_code_request()
    search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 5}
    body["tools"].append(search)
    request = decode_request(body)
    assert request.tools[-1] == Tool("web_search", raw=search) and request.tools[-1].raw is search
    out = encode_request(
        dataclasses.replace(request, tools=[t for t in request.tools if t.name != "WebFetch"])
    )
    assert [t["name"] for t in out["tools"]] == [*(n for n in TOOL_NAMES if n != "WebFetch"), "web_search"]
    assert all(any(t is sent for sent in body["tools"]) for t in out["tools"])
    renamed = dataclasses.replace(request.tools[0], description="Spawn an agent.")
    out = encode_request(dataclasses.replace(request, tools=[renamed, *request.tools[1:]]))
    assert out["tools"][0] == {**body["tools"][0], "description": "Spawn an agent."}
    assert list(out["tools"][0]) == list(body["tools"][0])
