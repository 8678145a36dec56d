"""The OpenAI chat codec: untouched input goes back as the very JSON it came from, edits re-encode
only what changed, and nothing the policy did not see reaches the client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from luthien_proxy.dialects.openai_chat import (
    ChatStreamCodec,
    decode_request,
    decode_response,
    encode_request,
    encode_response,
)
from luthien_proxy.model import ReasoningDelta, StreamEvent, Text, TextDelta

Json = dict[str, Any]

REQUEST: Json = {
    "model": "m",
    "messages": [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "hi"}, {"type": "image_url", "image_url": {"url": "x"}}],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "a", "type": "function", "function": {"name": "run", "arguments": '{"cmd": "ls"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "a", "content": "file.txt"},
        {"role": "critic", "content": "an unknown role", "x_vendor": 1},
    ],
    "tools": [
        {
            "type": "function",
            "function": {"name": "run", "description": "runs", "parameters": {"type": "object"}},
        }
    ],
    "temperature": 0.2,
    "x_unknown_field": {"kept": True},
}


def chunk(delta: Json, finish: str | None = None, **extra: Any) -> Json:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


async def frames(items: list[Json]) -> AsyncIterator[Json]:
    for item in items:
        yield item


async def round_trip(items: list[Json], edit: Any = None) -> list[Json]:
    codec = ChatStreamCodec()
    out: list[Json] = []
    async for event in codec.decode(frames(items)):
        out.append(codec.encode(edit(event) if edit else event))
    return out


def test_an_untouched_request_is_the_very_body_the_client_sent() -> None:
    assert encode_request(decode_request(REQUEST)) is REQUEST


def test_editing_one_message_keeps_every_other_field_role_and_part() -> None:
    request = decode_request(REQUEST)
    user = request.messages[1]
    edited = user.with_parts([replace(p, text="HI") if isinstance(p, Text) else p for p in user.parts])
    body = encode_request(request.with_messages([request.messages[0], edited, *request.messages[2:]]))
    assert body["messages"][1]["content"] == [
        {"type": "text", "text": "HI"},
        REQUEST["messages"][1]["content"][1],
    ]
    assert [m for i, m in enumerate(body["messages"]) if i != 1] == [
        m for i, m in enumerate(REQUEST["messages"]) if i != 1
    ]
    assert (
        body["x_unknown_field"] == {"kept": True}
        and body["temperature"] == 0.2
        and body["tools"] == REQUEST["tools"]
    )


def test_request_text_covers_history_calls_results_tools_and_non_chat_fields() -> None:
    text = decode_request({**REQUEST, "instructions": "INSTR", "prompt": "PROMPT"}).text()
    for piece in (
        "be brief",
        "hi",
        '{"cmd": "ls"}',
        "file.txt",
        "an unknown role",
        "runs",
        '"object"',
        "INSTR",
        "PROMPT",
    ):
        assert piece in text, piece


def test_a_response_without_calls_goes_back_untouched_and_a_call_is_written_canonical() -> None:
    plain = {
        "index": 1,
        "message": {"role": "assistant", "content": "ok", "x_vendor": 2},
        "finish_reason": "stop",
    }
    call = {
        "index": 0,
        "logprobs": {"content": [{"token": "rm"}]},
        "finish_reason": "tool_calls",
        "message": {
            "role": "assistant",
            "tool_calls": [
                {
                    "id": "c",
                    "type": "function",
                    "function": {"name": "run", "arguments": '{"cmd": "\\u0072m -rf /"}'},
                }
            ],
        },
    }
    body = {"id": "r", "object": "chat.completion", "choices": [call, plain], "usage": {"total_tokens": 3}}
    out = encode_response(decode_response(body))
    assert out["choices"][1] is plain and out["usage"] == body["usage"]
    written = out["choices"][0]
    assert written["message"]["tool_calls"][0]["function"]["arguments"] == '{"cmd":"rm -rf /"}'
    assert "logprobs" not in written


def test_removing_every_call_ends_the_choice_with_stop() -> None:
    body = {
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Sure.",
                    "tool_calls": [
                        {"id": "c", "type": "function", "function": {"name": "run", "arguments": "{}"}}
                    ],
                },
            }
        ]
    }
    response = decode_response(body).map_parts(lambda part: part if isinstance(part, Text) else None)
    choice = encode_response(response)["choices"][0]
    assert (
        choice["finish_reason"] == "stop"
        and "tool_calls" not in choice["message"]
        and choice["message"]["content"] == "Sure."
    )


async def test_an_untouched_stream_is_the_same_chunks_in_the_same_order() -> None:
    items = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "a"}),
        chunk({"refusal": "no"}),
        chunk({}, "stop"),
        {"id": "c", "object": "chat.completion.chunk", "choices": [], "usage": {"total_tokens": 2}},
    ]
    out = await round_trip(items)
    assert len(out) == len(items) and all(a is b for a, b in zip(out, items, strict=True))


async def test_an_edit_changes_only_the_text_and_never_resends_the_original() -> None:
    items = [
        chunk({"reasoning_content": "secret plan", "content": "hello"}, logprobs=None),
        chunk({}, "stop"),
    ]

    def upper_text(event: StreamEvent) -> StreamEvent:
        return event.with_text(event.text.upper()) if isinstance(event, TextDelta) else event

    out = await round_trip(items, upper_text)
    encoded = json.dumps(out)
    assert "HELLO" in encoded and "hello" not in encoded and encoded.count("secret plan") == 1
    assert out[-1]["choices"][0]["finish_reason"] == "stop"


async def test_a_streamed_call_arrives_once_whole_and_its_fragments_never_pass() -> None:
    items = [
        chunk({"content": "Working."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": "x",
                        "type": "function",
                        "function": {"name": "run", "arguments": '{"cmd": '},
                    }
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '"ls"}'}}]}),
        chunk({}, "tool_calls"),
    ]
    codec = ChatStreamCodec()
    events = [event async for event in codec.decode(frames(items))]
    kinds = [type(event).__name__ for event in events]
    assert kinds == ["TextDelta", "ToolCallEvent", "Stop"]
    out = [codec.encode(event) for event in events]
    calls = [d for c in out for ch in c["choices"] for d in ch["delta"].get("tool_calls") or ()]
    assert calls == [
        {"index": 0, "id": "x", "type": "function", "function": {"name": "run", "arguments": '{"cmd":"ls"}'}}
    ]
    assert not any(isinstance(e, ReasoningDelta) for e in events)
