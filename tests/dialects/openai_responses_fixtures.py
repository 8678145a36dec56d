"""Realistic OpenAI Responses API wire data for the codec tests: a Codex CLI 0.169 request (developer
and user messages, `exec_command` and more functions, a `namespace` tool, `web_search`, reasoning
with encrypted content included), its second turn carrying the call and its output, and stream
events (the client that checks what a stream assembles to is `openai_responses_client`)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from typing import Any

Json = dict[str, Any]

ENCRYPTED = "gAAAAABo-encrypted-reasoning=="
_CMD_SCHEMA: Json = {
    "type": "object",
    "properties": {"cmd": {"type": "string"}, "workdir": {"type": "string"}},
    "required": ["cmd"],
    "additionalProperties": False,
}
TOOL_NAMES = [
    "exec_command",
    "write_stdin",
    "update_plan",
    "view_image",
    "list_mcp_resources",
    "apply_patch",
    "read_file",
]


def codex_request(prompt: str = "run: ls -la") -> Json:
    """The first request of `codex exec "<prompt>"`, shaped like Codex CLI 0.169's."""
    tools: list[Json] = [
        {
            "type": "function",
            "name": name,
            "description": f"{name} tool.",
            "strict": False,
            "parameters": _CMD_SCHEMA,
        }
        for name in TOOL_NAMES
    ]
    tools.append(
        {
            "type": "namespace",
            "name": "mcp__docs",
            "description": "Documentation tools.",
            "tools": [
                {"type": "function", "name": "search_docs", "description": "Search.", "parameters": {}}
            ],
        }
    )
    tools.append({"type": "web_search", "external_web_access": False})
    return {
        "model": "gpt-5.1-codex",
        "input": [
            {
                "type": "message",
                "role": "developer",
                "content": [{"type": "input_text", "text": "You are Codex, a coding agent. Be precise."}],
            },
            {
                "type": "message",
                "role": "user",
                "content": [
                    {
                        "type": "input_text",
                        "text": "<environment_context>cwd: /home/dev</environment_context>",
                    },
                    {"type": "input_text", "text": prompt},
                ],
            },
        ],
        "tools": tools,
        "tool_choice": "auto",
        "parallel_tool_calls": True,
        "reasoning": {"summary": "auto"},
        "store": False,
        "stream": True,
        "include": ["reasoning.encrypted_content"],
        "prompt_cache_key": "0199-session-thread",
        "client_metadata": {"originator": "codex_exec"},
    }


def second_turn_request() -> Json:
    """The request after the model ran `ls -la`: its reasoning, its call, the call's output."""
    body = codex_request()
    body["input"] += [
        {
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": "List files."}],
            "encrypted_content": ENCRYPTED,
        },
        {
            "type": "function_call",
            "id": "fc_01",
            "call_id": "call_01",
            "name": "exec_command",
            "arguments": '{"cmd": "ls -la"}',
        },
        {"type": "function_call_output", "call_id": "call_01", "output": "total 0\nREADME.md"},
    ]
    return body


# Stream events (sequence numbers are given by `stream`).
def response_object(status: str = "in_progress", output: list[Json] | None = None) -> Json:
    body: Json = {
        "id": "resp_01",
        "object": "response",
        "created_at": 1767225600,
        "status": status,
        "model": "gpt-5.1-codex",
        "output": output or [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": None,
    }
    if status == "completed":
        body["usage"] = {
            "input_tokens": 900,
            "input_tokens_details": {"cached_tokens": 512, "cache_write_tokens": 0},
            "output_tokens": 40,
            "output_tokens_details": {"reasoning_tokens": 16},
            "total_tokens": 940,
        }
    return body


def created() -> Json:
    return {"type": "response.created", "response": response_object()}


def in_progress() -> Json:
    return {"type": "response.in_progress", "response": response_object()}


def added(index: int, item: Json) -> Json:
    return {"type": "response.output_item.added", "output_index": index, "item": item}


def item_done(index: int, item: Json) -> Json:
    return {"type": "response.output_item.done", "output_index": index, "item": item}


def reasoning_item(index: int, item_id: str = "rs_01") -> list[Json]:
    summary = {"type": "summary_text", "text": "The user wants the files listed."}
    ids = {"item_id": item_id, "output_index": index, "summary_index": 0}
    return [
        added(index, {"id": item_id, "type": "reasoning", "summary": []}),
        {
            "type": "response.reasoning_summary_part.added",
            **ids,
            "part": {"type": "summary_text", "text": ""},
        },
        {"type": "response.reasoning_summary_text.delta", **ids, "delta": "The user wants "},
        {"type": "response.reasoning_summary_text.delta", **ids, "delta": "the files listed."},
        {"type": "response.reasoning_summary_text.done", **ids, "text": summary["text"]},
        {"type": "response.reasoning_summary_part.done", **ids, "part": summary},
        item_done(
            index, {"id": item_id, "type": "reasoning", "summary": [summary], "encrypted_content": ENCRYPTED}
        ),
    ]


def text_part(text: str = "") -> Json:
    return {"type": "output_text", "annotations": [], "logprobs": [], "text": text}


def text_delta(index: int, piece: str, item_id: str = "msg_01", content: int = 0) -> Json:
    fields = {"item_id": item_id, "output_index": index, "content_index": content}
    return {"type": "response.output_text.delta", **fields, "delta": piece, "logprobs": []}


def message_item(index: int, *pieces: str, item_id: str = "msg_01") -> list[Json]:
    text = "".join(pieces)
    ids = {"item_id": item_id, "output_index": index, "content_index": 0}
    done = {
        "id": item_id,
        "type": "message",
        "status": "completed",
        "content": [text_part(text)],
        "role": "assistant",
    }
    return [
        added(
            index,
            {"id": item_id, "type": "message", "status": "in_progress", "content": [], "role": "assistant"},
        ),
        {"type": "response.content_part.added", **ids, "part": text_part()},
        *(text_delta(index, piece, item_id) for piece in pieces),
        {"type": "response.output_text.done", **ids, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **ids, "part": text_part(text)},
        item_done(index, done),
    ]


def call_added(
    index: int, call_id: str = "call_01", item_id: str = "fc_01", name: str = "exec_command"
) -> Json:
    item = {
        "id": item_id,
        "type": "function_call",
        "status": "in_progress",
        "arguments": "",
        "call_id": call_id,
    }
    return added(index, {**item, "name": name})


def args_delta(index: int, piece: str, item_id: str = "fc_01") -> Json:
    return {
        "type": "response.function_call_arguments.delta",
        "item_id": item_id,
        "output_index": index,
        "delta": piece,
    }


def call_item(
    index: int, arguments: str, call_id: str = "call_01", item_id: str = "fc_01", pieces: int = 3
) -> list[Json]:
    size = max(1, -(-len(arguments) // pieces))
    chunks = [arguments[n : n + size] for n in range(0, len(arguments), size)]
    start = call_added(index, call_id, item_id)
    done = {**start["item"], "arguments": arguments, "status": "completed"}
    ids = {"item_id": item_id, "output_index": index}
    return [
        start,
        *(args_delta(index, chunk, item_id) for chunk in chunks),
        {
            "type": "response.function_call_arguments.done",
            **ids,
            "arguments": arguments,
            "name": "exec_command",
        },
        item_done(index, done),
    ]


def completed(items: list[Json], status: str = "completed") -> Json:
    """The `response.completed` (or `.incomplete`) event whose output is the done items of `items`."""
    output = [e["item"] for e in items if e["type"] == "response.output_item.done"]
    return {"type": f"response.{status}", "response": response_object(status, copy.deepcopy(output))}


def stream(*parts: list[Json], end: bool = True) -> list[Json]:
    """A whole stream: created, in_progress, the items' events, completed; numbered 0..n."""
    events = [created(), in_progress(), *(event for part in parts for event in part)]
    if end:
        events.append(completed(events))
    return [{**event, "sequence_number": n} for n, event in enumerate(events)]


def tool_stream(arguments: str = '{"cmd": "ls -la",  "workdir": "/home/dev"}') -> list[Json]:
    """A Codex turn: reasoning, a sentence, an `exec_command` call, completed."""
    return stream(reasoning_item(0), message_item(1, "I'll list ", "the files."), call_item(2, arguments))


async def frames(items: list[Json]) -> AsyncIterator[Json]:
    for item in items:
        yield item
