"""The demo upstream speaks Anthropic Messages well enough for the official `anthropic` SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, cast

import anthropic
import httpx
import pytest
from anthropic import Anthropic
from anthropic.types import Message, MessageParam, TextBlock, ToolUseBlock

SECRET = "sk-ant-demo-secret-never-echoed"
# What Claude Code sends: system as blocks, reminders before the prompt, a system-role entry after it.
CLAUDE_SYSTEM: Any = [{"type": "text", "text": "You are Claude Code."}, {"type": "text", "text": "Be brief."}]


@pytest.fixture
def base_url(upstream_url: str) -> str:
    return upstream_url.removesuffix("/v1")


@pytest.fixture
def client(base_url: str) -> Iterator[Anthropic]:
    with Anthropic(base_url=base_url, api_key=SECRET, max_retries=0) as c:
        yield c


def _user(text: str) -> list[MessageParam]:
    return [{"role": "user", "content": text}]


def _claude_code_turn(prompt: str) -> list[MessageParam]:
    reminder = "<system-reminder>\nrun: echo from-a-reminder\nUse tools well.\n</system-reminder>"
    blocks = [{"type": "text", "text": reminder}, {"type": "text", "text": prompt}]
    return cast(
        list[MessageParam],
        [{"role": "user", "content": blocks}, {"role": "system", "content": "appended by the client"}],
    )


def _text(message: Message) -> str:
    return "".join(b.text for b in message.content if isinstance(b, TextBlock))


def _sse(raw: str) -> list[tuple[str, dict[str, Any]]]:
    """(event, data) of every frame, asserting each is exactly `event: <type>\\ndata: <json>`."""
    frames = []
    for chunk in raw.split("\n\n"):
        if not chunk:
            continue
        event_line, data_line = chunk.split("\n")
        event = event_line.removeprefix("event: ")
        data = json.loads(data_line.removeprefix("data: "))
        assert data["type"] == event
        frames.append((event, data))
    return frames


def test_echo_non_stream_is_a_message(client: Anthropic) -> None:
    message = client.messages.create(
        model="demo-echo", max_tokens=64, system=CLAUDE_SYSTEM, messages=_user("hello brave world")
    )
    assert message.id.startswith("msg_") and message.type == "message" and message.role == "assistant"
    assert message.model == "demo-echo"
    assert _text(message) == "You said: hello brave world"
    assert message.stop_reason == "end_turn" and message.stop_sequence is None
    assert message.usage.output_tokens == 5 and message.usage.input_tokens > 0


def test_echo_stream_word_by_word(client: Anthropic) -> None:
    with client.messages.stream(model="demo-echo", max_tokens=64, messages=_user("one two three")) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert pieces == ["You ", "said: ", "one ", "two ", "three"]
    assert _text(final) == "You said: one two three" and final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 5


def test_stream_event_sequence(base_url: str) -> None:
    body = {"model": "demo-tool", "max_tokens": 64, "stream": True, "messages": _user("[agent:rm]")}
    headers = {"x-api-key": SECRET, "anthropic-version": "2023-06-01", "anthropic-beta": "a,b"}
    with httpx.Client() as http:
        reply = http.post(f"{base_url}/v1/messages?beta=true", json=body, headers=headers)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/event-stream")
    frames = _sse(reply.text)
    events = [e for e, _ in frames]
    assert events[:3] == ["message_start", "content_block_start", "ping"]
    assert events[-2:] == ["message_delta", "message_stop"]
    start = frames[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and "input_tokens" in start["usage"]
    starts = [d["content_block"] for e, d in frames if e == "content_block_start"]
    assert [b["type"] for b in starts] == ["text", "tool_use"]
    assert events.count("content_block_stop") == 2
    partials = [d["delta"]["partial_json"] for e, d in frames if d.get("delta", {}).get("partial_json")]
    assert len(partials) > 1 and json.loads("".join(partials)) == {"command": "rm -rf / --no-preserve-root"}
    assert frames[-2][1]["delta"]["stop_reason"] == "tool_use" and frames[-2][1]["usage"]["output_tokens"]
    assert SECRET not in reply.text and SECRET not in str(reply.headers)


def test_agent_tool_use_assembled_by_the_stream_helper(client: Anthropic) -> None:
    messages = _claude_code_turn("please\nrun: ls -la\nrun: touch /tmp/luthien-benign")
    inputs = 0
    with client.messages.stream(
        model="demo-agent", max_tokens=64, system=CLAUDE_SYSTEM, messages=messages
    ) as stream:
        for event in stream:
            inputs += event.type == "content_block_delta" and event.delta.type == "input_json_delta"
        final = stream.get_final_message()
    assert inputs > 1
    assert final.stop_reason == "tool_use" and len(final.content) == 1
    block = final.content[0]
    assert isinstance(block, ToolUseBlock) and block.id.startswith("toolu_")
    assert block.name == "Bash" and block.input == {"command": "touch /tmp/luthien-benign"}


def test_agent_non_stream_matches_the_stream(client: Anthropic) -> None:
    message = client.messages.create(
        model="demo-agent", max_tokens=64, messages=_claude_code_turn("run: make test")
    )
    assert message.stop_reason == "tool_use"
    assert [(b.name, b.input) for b in message.content if isinstance(b, ToolUseBlock)] == [
        ("Bash", {"command": "make test"})
    ]


@pytest.mark.parametrize(
    "result",
    ["file1\nfile2", [{"type": "text", "text": "file1\nfile2"}]],
    ids=["string-content", "block-content"],
)
def test_agent_reports_the_tool_result(client: Anthropic, result: object) -> None:
    call = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
    turn = [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": result},
        {"type": "text", "text": "<system-reminder>\nrun: ignored after a result\n</system-reminder>"},
    ]
    history = [
        *_claude_code_turn("run: ls"),
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": turn},
        {"role": "system", "content": "appended"},
    ]
    with client.messages.stream(
        model="demo-agent", max_tokens=64, messages=cast(list[MessageParam], history)
    ) as stream:
        final = stream.get_final_message()
    assert _text(final) == "done: file1\nfile2" and final.stop_reason == "end_turn"


def test_agent_keeps_only_the_start_of_a_long_result(client: Anthropic) -> None:
    long = "x" * 1000
    history = [
        {"role": "user", "content": "run: yes"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": long}]},
    ]
    message = client.messages.create(
        model="demo-agent", max_tokens=64, messages=cast(list[MessageParam], history)
    )
    assert _text(message) == "done: " + "x" * 200


def test_agent_echoes_without_a_run_line(client: Anthropic) -> None:
    message = client.messages.create(model="demo-agent", max_tokens=64, messages=_user("what is up"))
    assert _text(message) == "You said: what is up" and message.stop_reason == "end_turn"


def test_every_block_type_and_role_is_accepted(client: Anthropic) -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    thinking = {"type": "thinking", "thinking": "hmm", "signature": "c2ln"}
    history = [
        {"role": "user", "content": [image, {"type": "text", "text": "look"}]},
        {"role": "assistant", "content": [thinking, {"type": "text", "text": "ok"}]},
        {"role": "user", "content": [{"type": "text", "text": "again"}, {"type": "mystery", "x": 1}]},
        {"role": "system", "content": [{"type": "text", "text": "late system"}]},
        {"role": "narrator", "content": None},
    ]
    message = client.messages.create(
        model="demo-echo",
        max_tokens=64,
        messages=cast(list[MessageParam], history),
        extra_body={"thinking": {"type": "adaptive"}, "metadata": {"user_id": '{"session_id": "s"}'}},
    )
    assert _text(message) == "You said: again"


def test_count_tokens_is_a_deterministic_estimate(client: Anthropic) -> None:
    short = client.messages.count_tokens(model="demo-echo", messages=_user("one two"))
    again = client.messages.count_tokens(model="demo-echo", messages=_user("one two"))
    longer = client.messages.count_tokens(
        model="demo-echo", system="four more words here", messages=_user("one two")
    )
    assert short.input_tokens == again.input_tokens == 2
    assert longer.input_tokens == 6
    message = client.messages.create(model="demo-echo", max_tokens=8, messages=_user("one two"))
    assert message.usage.input_tokens == short.input_tokens


def test_bearer_token_is_accepted_and_nothing_secret_echoed(base_url: str) -> None:
    with Anthropic(base_url=base_url, auth_token=SECRET, max_retries=0) as bearer:
        raw = bearer.messages.with_raw_response.create(model="demo-echo", max_tokens=8, messages=_user("hi"))
    assert raw.status_code == 200 and raw.headers["request-id"].startswith("req_")
    assert SECRET not in raw.http_response.text and SECRET not in str(raw.headers)
    assert _text(raw.parse()) == "You said: hi"


def test_unknown_model_is_not_found(client: Anthropic) -> None:
    with pytest.raises(anthropic.NotFoundError) as info:
        client.messages.create(model="claude-nope", max_tokens=8, messages=_user("x"))
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "error"
    assert info.value.body["error"]["type"] == "not_found_error"
    with pytest.raises(anthropic.NotFoundError):
        client.messages.count_tokens(model="claude-nope", messages=_user("x"))


@pytest.mark.parametrize(
    ("status", "error_class", "error_type"),
    [
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_demo_error_in_anthropic_shape(
    client: Anthropic, status: int, error_class: type[anthropic.APIStatusError], error_type: str
) -> None:
    with pytest.raises(error_class) as info:
        client.messages.create(
            model="demo-error", max_tokens=8, messages=_user("x"), extra_body={"demo_status": status}
        )
    assert info.value.status_code == status
    assert info.value.body == {
        "type": "error",
        "error": {"type": error_type, "message": f"demo-error: simulated upstream failure ({status})"},
    }


def test_malformed_requests_are_400_invalid_request(client: Anthropic, base_url: str) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        client.messages.create(model="demo-echo", max_tokens=8, messages=cast(Any, None))
    assert cast(dict[str, Any], info.value.body)["error"]["type"] == "invalid_request_error"
    with httpx.Client() as http:
        for body in (b"{not json", b"[]", b'{"model": "demo-echo", "messages": []}'):
            reply = http.post(f"{base_url}/v1/messages", content=body)
            assert reply.status_code == 400
            assert reply.json()["type"] == "error"
            assert reply.json()["error"]["type"] == "invalid_request_error"


def test_models_list_in_anthropic_shape(client: Anthropic) -> None:
    ids = {m.id for m in client.models.list()}
    assert {"demo-echo", "demo-tool", "demo-agent", "demo-judge"} <= ids


def test_demo_long_honours_request_fields(client: Anthropic) -> None:
    with client.messages.stream(
        model="demo-long", max_tokens=8, messages=_user("go"), extra_body={"demo_chunks": 30}
    ) as stream:
        pieces = list(stream.text_stream)
    assert pieces == [f"chunk {i} " for i in range(30)]
