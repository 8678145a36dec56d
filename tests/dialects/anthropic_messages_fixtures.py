"""Realistic Anthropic Messages wire data for the codec tests: a Claude Code request (system as
cached text blocks, twelve tools, a `system`-role entry, adaptive thinking, a JSON-string user id),
its second turn carrying a tool result, and stream frames; plus a client that assembles a stream
the way the official SDK does, refusing what it would refuse."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

Json = dict[str, Any]

_CACHE = {"type": "ephemeral"}
_SCHEMA = {"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}
TOOL_NAMES = [
    "Task", "Bash", "Glob", "Grep", "ExitPlanMode", "Read",
    "Edit", "Write", "NotebookEdit", "WebFetch", "TodoWrite", "WebSearch",
]  # fmt: skip


def claude_code_request(prompt: str = "run: ls -la") -> Json:
    """The first request of a `claude -p "<prompt>"` session, shaped like Claude Code 2.1's."""
    tools: list[Json] = [
        {"name": name, "description": f"{name} tool. Use it well.", "input_schema": _SCHEMA}
        for name in TOOL_NAMES
    ]
    tools[1]["input_schema"] = {
        "type": "object",
        "properties": {"command": {"type": "string"}, "timeout": {"type": "number"}},
        "required": ["command"],
        "additionalProperties": False,
        "$schema": "http://json-schema.org/draft-07/schema#",
    }
    tools[-1]["cache_control"] = _CACHE
    session = {"device_id": "d3adb33f", "account_uuid": "", "session_id": "5e551on-0001"}
    return {
        "model": "claude-sonnet-4-5-20250929",
        "messages": [
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "<system-reminder>\nAs you answer, use the tools.\n</system-reminder>",
                    },
                    {"type": "text", "text": prompt, "cache_control": _CACHE},
                ],
            },
            {"role": "system", "content": "The user is in /home/dev/project. Today is 2026-03-01."},
        ],
        "system": [
            {
                "type": "text",
                "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": _CACHE,
            },
            {
                "type": "text",
                "text": "You are an interactive CLI tool that helps users.",
                "cache_control": _CACHE,
            },
        ],
        "tools": tools,
        "metadata": {"user_id": json.dumps(session)},
        "max_tokens": 32000,
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "stream": True,
    }


SIGNATURE = "EqQBCkYIBxgCKkDsig+/=="


def second_turn_request() -> Json:
    """The request after the model called Bash: its answer, then the tool result."""
    body = claude_code_request()
    body["messages"] += [
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "I should list the files.", "signature": SIGNATURE},
                {"type": "text", "text": "Listing."},
                {
                    "type": "tool_use",
                    "id": "toolu_01",
                    "name": "Bash",
                    "input": {"command": "ls -la", "description": "List files"},
                    "cache_control": _CACHE,
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_01",
                    "content": "total 0\nREADME.md",
                    "is_error": False,
                },
                {"type": "text", "text": "thanks"},
            ],
        },
    ]
    return body


# Stream frames.
def message_start() -> Json:
    message = {
        "id": "msg_01",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5-20250929",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_read_input_tokens": 4000, "output_tokens": 1},
    }
    return {"type": "message_start", "message": message}


def start(index: int, block: Json) -> Json:
    return {"type": "content_block_start", "index": index, "content_block": block}


def text_start(index: int) -> Json:
    return start(index, {"type": "text", "text": ""})


def tool_start(index: int, call_id: str = "toolu_01", name: str = "Bash") -> Json:
    return start(index, {"type": "tool_use", "id": call_id, "name": name, "input": {}})


def delta(index: int, **fields: Any) -> Json:
    return {"type": "content_block_delta", "index": index, "delta": fields}


def text(index: int, value: str) -> Json:
    return delta(index, type="text_delta", text=value)


def json_delta(index: int, partial: str) -> Json:
    return delta(index, type="input_json_delta", partial_json=partial)


def stop(index: int) -> Json:
    return {"type": "content_block_stop", "index": index}


def message_delta(reason: str | None = "end_turn") -> Json:
    return {
        "type": "message_delta",
        "delta": {"stop_reason": reason, "stop_sequence": None},
        "usage": {"output_tokens": 42},
    }


MESSAGE_STOP: Json = {"type": "message_stop"}
PING: Json = {"type": "ping"}


def thinking_block(index: int) -> list[Json]:
    return [
        start(index, {"type": "thinking", "thinking": "", "signature": ""}),
        delta(index, type="thinking_delta", thinking="The user wants "),
        delta(index, type="thinking_delta", thinking="the files listed."),
        delta(index, type="signature_delta", signature=SIGNATURE),
        stop(index),
    ]


def text_block(index: int, *pieces: str) -> list[Json]:
    return [text_start(index), *(text(index, p) for p in pieces), stop(index)]


def tool_block(index: int, arguments: str, call_id: str = "toolu_01", pieces: int = 3) -> list[Json]:
    size = max(1, -(-len(arguments) // pieces))
    chunks = [arguments[n : n + size] for n in range(0, len(arguments), size)]
    return [tool_start(index, call_id), *(json_delta(index, c) for c in chunks), stop(index)]


def tool_stream() -> list[Json]:
    """A Claude Code turn: thinking, a sentence, a Bash call, `tool_use`."""
    return [
        message_start(),
        PING,
        *thinking_block(0),
        *text_block(1, "I'll list ", "the files."),
        *tool_block(2, '{"command": "ls -la", "description": "List files"}'),
        message_delta("tool_use"),
        MESSAGE_STOP,
    ]


async def frames(items: list[Json]) -> AsyncIterator[Json]:
    for item in items:
        yield item


def assemble(out: list[Json]) -> Json:
    """The message a client builds from `out`, as the official SDK does (`accumulate_event`), with
    the checks a careful client makes: one message_start first, blocks started at the next index,
    deltas and stops only for the open block, `input_json_delta` parsed as JSON."""
    assert out and out[0]["type"] == "message_start", "the stream must open with message_start"
    message: Json = json.loads(json.dumps(out[0]["message"]))
    content: list[Json] = message["content"]
    buffers: dict[int, str] = {}
    open_index: int | None = None
    for frame in out[1:]:
        kind = frame["type"]
        assert kind != "message_start", "a second message_start"
        if kind == "content_block_start":
            assert open_index is None, f"block {frame['index']} starts while {open_index} is open"
            assert frame["index"] == len(content), f"index {frame['index']} is not the next ({len(content)})"
            content.append(json.loads(json.dumps(frame["content_block"])))
            open_index = frame["index"]
        elif kind == "content_block_delta":
            assert frame["index"] == open_index, f"a delta for {frame['index']}, open is {open_index}"
            block, change = content[frame["index"]], frame["delta"]
            if change["type"] == "text_delta":
                block["text"] += change["text"]
            elif change["type"] == "thinking_delta":
                block["thinking"] += change["thinking"]
            elif change["type"] == "signature_delta":
                block["signature"] = change["signature"]
            elif change["type"] == "input_json_delta":
                buffers[frame["index"]] = buffers.get(frame["index"], "") + change["partial_json"]
                block["input"] = json.loads(buffers[frame["index"]])
        elif kind == "content_block_stop":
            assert frame["index"] == open_index, f"a stop for {frame['index']}, open is {open_index}"
            open_index = None
        elif kind == "message_delta":
            assert open_index is None, "message_delta while a block is open"
            message["stop_reason"] = frame["delta"]["stop_reason"]
    return message
