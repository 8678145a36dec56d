"""One script per model, three wires: every scripted model answers alike in OpenAI chat, Anthropic Messages
and OpenAI Responses, and demo-agent drives an agent loop in each with the shell tool the client offers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
from anthropic import Anthropic
from anthropic.types import MessageParam, TextBlock, ToolUseBlock
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam
from openai.types.responses import ResponseFunctionToolCall

from luthien_proxy.tooling.demo_upstream import hostile_shapes

Reply = tuple[str, list[tuple[str, Any]], bool]  # text, (tool name, input) per call, stopped for tools
Tools = list[Any]


@pytest.fixture
def chat(upstream_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=upstream_url, api_key="demo", max_retries=0) as c:
        yield c


@pytest.fixture
def messages_api(upstream_url: str) -> Iterator[Anthropic]:
    with Anthropic(base_url=upstream_url.removesuffix("/v1"), api_key="demo", max_retries=0) as c:
        yield c


def _chat_reply(chat: OpenAI, model: str, text: str, stream: bool, offer: tuple[str, ...] = ()) -> Reply:
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": text}]
    tools: Tools = [{"type": "function", "function": {"name": n, "parameters": {}}} for n in offer]
    extra: dict[str, Any] = {"tools": tools} if tools else {}
    if not stream:
        choice = chat.chat.completions.create(model=model, messages=messages, **extra).choices[0]
        calls = [
            (c.function.name, json.loads(c.function.arguments))
            for c in choice.message.tool_calls or []
            if c.type == "function"
        ]
        return choice.message.content or "", calls, choice.finish_reason == "tool_calls"
    content, names, args, finish = "", {}, {}, None
    for chunk in chat.chat.completions.create(model=model, messages=messages, stream=True, **extra):
        delta = chunk.choices[0].delta
        content += delta.content or ""
        for tc in delta.tool_calls or []:
            if tc.function and tc.function.name:
                names[tc.index] = tc.function.name
            args[tc.index] = args.get(tc.index, "") + ((tc.function.arguments or "") if tc.function else "")
        finish = chunk.choices[0].finish_reason or finish
    calls = [(names[i], json.loads(args[i])) for i in sorted(names)]
    return content, calls, finish == "tool_calls"


def _messages_reply(
    client: Anthropic, model: str, text: str, stream: bool, offer: tuple[str, ...] = ()
) -> Reply:
    turn: list[MessageParam] = [{"role": "user", "content": text}]
    tools: Tools = [{"name": n, "input_schema": {"type": "object"}} for n in offer]
    extra: dict[str, Any] = {"tools": tools} if tools else {}
    if stream:
        with client.messages.stream(model=model, max_tokens=64, messages=turn, **extra) as events:
            message = events.get_final_message()
    else:
        message = client.messages.create(model=model, max_tokens=64, messages=turn, **extra)
    content = "".join(b.text for b in message.content if isinstance(b, TextBlock))
    calls = [(b.name, b.input) for b in message.content if isinstance(b, ToolUseBlock)]
    return content, calls, message.stop_reason == "tool_use"


def _responses_reply(
    client: OpenAI, model: str, text: str, stream: bool, offer: tuple[str, ...] = ()
) -> Reply:
    tools: Tools = [{"type": "function", "name": n, "parameters": {}, "strict": False} for n in offer]
    extra: dict[str, Any] = {"tools": tools} if tools else {}
    if stream:
        with client.responses.stream(model=model, input=text, **extra) as events:
            response = events.get_final_response()
    else:
        response = client.responses.create(model=model, input=text, **extra)
    calls = [
        (i.name, json.loads(i.arguments)) for i in response.output if isinstance(i, ResponseFunctionToolCall)
    ]
    return response.output_text, calls, bool(calls)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(
    ("model", "text"),
    [
        ("demo-echo", "hello there"),
        ("demo-judge", '<tool_call>\nname: run_shell\narguments: {"command": "rm -rf /"}\n</tool_call>'),
        (
            "demo-trusted",
            '<proposed_tool_call>\n{"name": "write_file", "arguments": {"path": "/etc/x"}}\n'
            "</proposed_tool_call>",
        ),
        ("demo-tool", "list files"),
        ("demo-tool", "[agent:curl]"),
        ("demo-tool", "[agent:write]"),
        ("demo-agent", "run: git status"),
        ("demo-agent", "just talk"),
    ],
)
def test_scripted_models_answer_alike(
    chat: OpenAI, messages_api: Anthropic, model: str, text: str, stream: bool
) -> None:
    openai_reply = _chat_reply(chat, model, text, stream)
    anthropic_reply = _messages_reply(messages_api, model, text, stream)
    responses_reply = _responses_reply(chat, model, text, stream)
    assert openai_reply == anthropic_reply == responses_reply
    assert openai_reply[0] or openai_reply[1]  # every script says something


CODEX = ("exec_command", "write_stdin", "update_plan")
CLAUDE_CODE = ("Bash", "Read", "Edit")


@pytest.mark.parametrize("dialect", ["chat", "messages", "responses"])
@pytest.mark.parametrize(
    ("offer", "call"),
    [
        ((), ("Bash", {"command": "make test"})),
        (CLAUDE_CODE, ("Bash", {"command": "make test"})),
        (CODEX, ("exec_command", {"cmd": "make test"})),
        (("Read", *CODEX, "Bash"), ("exec_command", {"cmd": "make test"})),
        (("shell", "update_plan"), ("shell", {"command": ["bash", "-lc", "make test"]})),
        (("shell", "Bash"), ("Bash", {"command": "make test"})),
        (("Read", "Write"), ("Bash", {"command": "make test"})),
    ],
    ids=["no-tools", "claude-code", "codex", "codex-and-bash", "shell", "shell-and-bash", "no-shell"],
)
def test_agent_calls_the_shell_tool_offered(
    chat: OpenAI, messages_api: Anthropic, dialect: str, offer: tuple[str, ...], call: tuple[str, Any]
) -> None:
    text = "<environment_context>\n<cwd>/repo</cwd>\n</environment_context>\nrun: make test"
    if dialect == "chat":
        reply = _chat_reply(chat, "demo-agent", text, True, offer)
    elif dialect == "messages":
        reply = _messages_reply(messages_api, "demo-agent", text, True, offer)
    else:
        reply = _responses_reply(chat, "demo-agent", text, True, offer)
    assert reply == ("", [call], True)


def test_tools_that_are_not_functions_are_not_offered(chat: OpenAI) -> None:
    # A Responses namespace holding exec_command, web_search, an Anthropic server tool: none is the shell.
    tools: Tools = [
        {"type": "namespace", "name": "exec_command", "description": "", "tools": []},
        {"type": "web_search"},
        {"type": "bash_20250124", "name": "exec_command"},
    ]
    response = chat.responses.create(model="demo-agent", input="run: ls", tools=tools)
    assert [(i.name, i.arguments) for i in response.output if isinstance(i, ResponseFunctionToolCall)] == [
        ("Bash", '{"command": "ls"}')
    ]


def test_scripted_call_in_anthropic_is_a_tool_use_after_the_preface(messages_api: Anthropic) -> None:
    assert _messages_reply(messages_api, "demo-tool", "[agent:rm]", True) == (
        "Cleaning up.",
        [("run_shell", {"command": "rm -rf / --no-preserve-root"})],
        True,
    )


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_agent_in_openai_chat_runs_the_last_run_line(chat: OpenAI, stream: bool) -> None:
    text = "<system-reminder>\nrun: echo reminder\n</system-reminder>\nrun: pytest -q\nthanks"
    assert _chat_reply(chat, "demo-agent", text, stream) == ("", [("Bash", {"command": "pytest -q"})], True)


def test_agent_in_openai_chat_streams_the_arguments_in_pieces(chat: OpenAI) -> None:
    stream = chat.chat.completions.create(
        model="demo-agent", messages=[{"role": "user", "content": "run: touch /tmp/f"}], stream=True
    )
    fragments = [
        tc.function.arguments
        for chunk in stream
        for tc in chunk.choices[0].delta.tool_calls or []
        if tc.function and tc.function.arguments
    ]
    assert len(fragments) > 1 and json.loads("".join(fragments)) == {"command": "touch /tmp/f"}


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_agent_in_openai_chat_reports_a_tool_result(chat: OpenAI, stream: bool) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"ls"}'}}
    history = cast(
        list[ChatCompletionMessageParam],
        [
            {"role": "user", "content": "run: ls"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "a.txt\n" + "y" * 500},
        ],
    )
    if stream:
        chunks = chat.chat.completions.create(model="demo-agent", messages=history, stream=True)
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
    else:
        reply = chat.chat.completions.create(model="demo-agent", messages=history)
        assert reply.choices[0].finish_reason == "stop" and not reply.choices[0].message.tool_calls
        text = reply.choices[0].message.content or ""
    assert text == "done: " + ("a.txt\n" + "y" * 500)[:200]


def test_agent_loop_ends_after_one_command(messages_api: Anthropic) -> None:
    history: list[MessageParam] = [{"role": "user", "content": "run: date"}]
    first = messages_api.messages.create(model="demo-agent", max_tokens=64, messages=history)
    call = first.content[0]
    assert isinstance(call, ToolUseBlock)
    history += [
        {"role": "assistant", "content": [call.model_dump()]},  # type: ignore[list-item]
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "Tue"}]},
    ]
    second = messages_api.messages.create(model="demo-agent", max_tokens=64, messages=history)
    assert second.stop_reason == "end_turn"
    assert [b.text for b in second.content if isinstance(b, TextBlock)] == ["done: Tue"]


def test_hostile_shape_on_messages_keeps_its_fragments(upstream_url: str) -> None:
    shaped = hostile_shapes.plan("second-call", 0)
    body = {
        "model": "demo-tool",
        "max_tokens": 8,
        "stream": True,
        "messages": [{"role": "user", "content": "[shape:second-call]"}],
    }
    with httpx.Client() as http:
        frames = [
            json.loads(line.removeprefix("data: "))
            for line in http.post(upstream_url + "/messages", json=body).text.splitlines()
            if line.startswith("data: ")
        ]
    starts = [f["content_block"] for f in frames if f["type"] == "content_block_start"]
    assert [b.get("name") for b in starts] == [None, "run_shell", "run_shell"]
    hostile = [
        f["delta"]["partial_json"] for f in frames if f["type"] == "content_block_delta" and f["index"] == 2
    ]
    assert hostile == shaped.pieces
    assert json.loads("".join(hostile)) == {"command": hostile_shapes.COMMAND}
