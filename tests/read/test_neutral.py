"""The neutral rendering of a call (`read/conversation/neutral.py`, `view["neutral"]`): each
dialect's recorded request, response and stream read into the same typed parts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from luthien_proxy.dialects.registry import DIALECTS
from luthien_proxy.model import Stop, StreamEvent, TextDelta, ToolCall, ToolCallEvent
from luthien_proxy.read.conversation import call_view
from luthien_proxy.read.conversation.neutral import neutral_request, neutral_response, neutral_stream
from luthien_proxy.wire import DIALECT_KEY

Json = dict[str, Any]
BASH = {"name": "Bash", "description": "Runs a shell command.", "parameters": {"type": "object"}}
#: What every dialect's history below reads as: a user asks, the assistant calls Bash, the tool answers.
HISTORY = [
    {"role": "user", "parts": [{"type": "text", "text": "list the files"}]},
    {
        "role": "assistant",
        "parts": [
            {"type": "text", "text": "Let me look."},
            {"type": "tool_call", "id": "call_1", "name": "Bash", "arguments": {"command": "ls"}},
        ],
    },
    {
        "role": "tool",
        "parts": [{"type": "tool_result", "call_id": "call_1", "content": "a.txt", "is_error": False}],
    },
]
PROPOSED = {"type": "tool_call", "id": "call_2", "name": "Bash", "arguments": {"command": "cat a.txt"}}

CHAT_REQUEST: Json = {
    "model": "gpt-x",
    "messages": [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "list the files"},
        {
            "role": "assistant",
            "content": "Let me look.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"},
    ],
    "tools": [{"type": "function", "function": BASH}],
}
ANTHROPIC_REQUEST: Json = {
    "model": "gpt-x",
    "system": [{"type": "text", "text": "You are terse."}],
    "messages": [
        {"role": "user", "content": "list the files"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}},
            ],
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt"}]},
    ],
    "tools": [{"name": "Bash", "description": BASH["description"], "input_schema": BASH["parameters"]}],
}
RESPONSES_REQUEST: Json = {
    "model": "gpt-x",
    "instructions": "You are terse.",
    "input": [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "list the files"}]},
        {
            "type": "message",
            "role": "assistant",
            "content": [{"type": "output_text", "text": "Let me look."}],
        },
        {"type": "function_call", "call_id": "call_1", "name": "Bash", "arguments": '{"command":"ls"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "a.txt"},
    ],
    "tools": [{"type": "function", **BASH}],
}
CHAT_RESPONSE: Json = {
    "object": "chat.completion",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_2",
                        "type": "function",
                        "function": {"name": "Bash", "arguments": '{"command": "cat a.txt"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
}
ANTHROPIC_RESPONSE: Json = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "gpt-x",
    "content": [{"type": "tool_use", "id": "call_2", "name": "Bash", "input": {"command": "cat a.txt"}}],
    "stop_reason": "tool_use",
}
RESPONSES_RESPONSE: Json = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "model": "gpt-x",
    "output": [
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_2",
            "name": "Bash",
            "arguments": '{"command":"cat a.txt"}',
            "status": "completed",
        }
    ],
}
CASES = [
    ("openai_chat", CHAT_REQUEST, CHAT_RESPONSE, "tool_calls"),
    ("anthropic_messages", ANTHROPIC_REQUEST, ANTHROPIC_RESPONSE, "tool_use"),
    ("openai_responses", RESPONSES_REQUEST, RESPONSES_RESPONSE, "completed"),
]
IDS = ["chat", "anthropic", "responses"]


def _events(dialect: str, request: Json, completion: Json, chunks: Sequence[Json] = ()) -> list[Json]:
    """A call's conversation events as the read side replays them."""
    tag = {DIALECT_KEY: dialect}
    events: list[Json] = [
        {"type": "request_started", "payload": {**tag, "original": request, "final": request}},
        *(
            {"type": kind, "payload": {"index": i, "chunk": c}}
            for kind in ("original_chunk", "final_chunk")
            for i, c in enumerate(chunks)
        ),
        {"type": "request_completed", "payload": {**tag, **completion}},
    ]
    return [{**event, "call_id": "c1", "sequence": n, "timestamp": 1.0 + n} for n, event in enumerate(events)]


def _frames(dialect: str, events: list[StreamEvent]) -> list[Json]:
    """The frames the dialect's own stream writer sends for `events`."""
    codec = DIALECTS[dialect].stream_codec()
    return [frame for event in events for frame in codec.encode_frames(event)]


@pytest.mark.parametrize(("dialect", "request_body", "response_body", "stop"), CASES, ids=IDS)
def test_each_dialect_reads_as_the_same_history_tools_and_tool_call(
    dialect: str, request_body: Json, response_body: Json, stop: str
) -> None:
    completion = {"status": "success", "original": response_body, "final": response_body}
    neutral = call_view("c1", _events(dialect, request_body, completion))["neutral"]

    for side in ("original", "final"):
        request = neutral["request"][side]
        assert request["model"] == "gpt-x"
        assert request["system"] == [{"type": "text", "text": "You are terse."}]
        assert request["messages"] == HISTORY
        assert request["tools"] == [BASH]
        assert neutral["response"][side] == {
            "choices": [{"index": 0, "parts": [PROPOSED], "stop_reason": stop}]
        }


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_a_streams_recorded_chunks_assemble_into_its_text_and_tool_call(dialect: str) -> None:
    call = ToolCall("call_2", "Bash", '{"command":"cat a.txt"}')
    original = _frames(dialect, [TextDelta("Let me "), TextDelta("read it."), ToolCallEvent(call), Stop(0)])
    request = {"model": "gpt-x", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    completion = {"streamed": True, "original_text": "Let me read it.", "final_text": "Let me read it."}

    view = call_view("c1", _events(dialect, request, completion, original))

    assert view["streamed"] is True
    for side in ("original", "final"):
        (choice,) = view["neutral"]["response"][side]["choices"]
        assert choice["parts"] == [{"type": "text", "text": "Let me read it."}, PROPOSED]


def _cut_inside_the_call(dialect: str) -> list[Json]:
    """A stream that ends inside its tool call (a live or a failed stream): not a whole response."""
    frames = _frames(dialect, [ToolCallEvent(ToolCall("call_2", "Bash", '{"command":"cat a.txt"}')), Stop(0)])
    opened = next(n for n, frame in enumerate(frames) if "Bash" in str(frame))
    cut = frames[: opened + 1]
    if dialect == "openai_chat":  # one chunk carries the whole call: cut its arguments instead
        cut[-1]["choices"][0]["delta"]["tool_calls"][0]["function"]["arguments"] = '{"command": "ca'
    return cut


#: A hostile model's answer whose tool call is not one (arguments that are not a JSON object).
BAD_RESPONSES = {
    "openai_chat": {
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "tool_calls": [
                        {"id": "x", "type": "function", "function": {"name": "Bash", "arguments": "[1"}}
                    ],
                },
            }
        ]
    },
    "anthropic_messages": {
        "type": "message",
        "content": [{"type": "tool_use", "id": "x", "name": "Bash", "input": "rm"}],
    },
    "openai_responses": {
        "object": "response",
        "output": [{"type": "function_call", "call_id": "x", "name": "Bash", "arguments": "[1"}],
    },
}


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_unreadable_input_gives_null_never_an_exception(dialect: str) -> None:
    codec = DIALECTS[dialect]
    assert neutral_stream(codec, _cut_inside_the_call(dialect)) is None
    assert neutral_stream(codec, ["not a frame"]) is None
    assert neutral_stream(codec, []) is None
    assert neutral_response(codec, BAD_RESPONSES[dialect]) is None
    assert neutral_response(codec, None) is None
    assert neutral_request(codec, {}) is None
    completion = {"status": "success", "original": BAD_RESPONSES[dialect], "final": {"oops": []}}
    view = call_view("c1", _events(dialect, {"messages": [None, 3, "x"], "input": [None]}, completion))
    assert view["neutral"]["response"] == {"original": None, "final": view["neutral"]["response"]["final"]}
