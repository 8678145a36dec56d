"""The demo upstream speaks OpenAI well enough for the official SDK, deterministically."""

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam


@pytest.fixture
def client(upstream_url: str) -> Iterator[OpenAI]:
    with OpenAI(base_url=upstream_url, api_key="unused", max_retries=0) as c:
        yield c


def _user(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "system", "content": "be nice"}, {"role": "user", "content": text}]


def test_health_and_models(upstream_url: str, client: OpenAI) -> None:
    assert httpx.get(upstream_url.removesuffix("/v1") + "/health").json() == {"status": "ok"}
    ids = {m.id for m in client.models.list()}
    assert {"demo-echo", "demo-long", "demo-tool", "demo-error"} <= ids


def test_echo_non_stream(client: OpenAI) -> None:
    resp = client.chat.completions.create(model="demo-echo", messages=_user("hello brave world"))
    choice = resp.choices[0]
    assert choice.message.content == "You said: hello brave world"
    assert choice.finish_reason == "stop"
    assert resp.usage is not None and resp.usage.completion_tokens == 5


def test_echo_stream_is_word_by_word(client: OpenAI) -> None:
    stream = client.chat.completions.create(model="demo-echo", messages=_user("one two three"), stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert "".join(pieces) == "You said: one two three"
    assert len(pieces) == 5


def test_stream_usage_when_requested(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="demo-echo", messages=_user("hi"), stream=True, stream_options={"include_usage": True}
    )
    usages = [c.usage for c in stream if c.usage is not None]
    assert len(usages) == 1 and usages[0].total_tokens > 0


def test_tool_call_stream_reassembles(client: OpenAI) -> None:
    stream = client.chat.completions.create(model="demo-tool", messages=_user("list files"), stream=True)
    call_id, name, args, deltas, finish = None, None, "", 0, None
    for chunk in stream:
        choice = chunk.choices[0]
        finish = choice.finish_reason or finish
        for tc in choice.delta.tool_calls or []:
            deltas += 1
            call_id = tc.id or call_id
            if tc.function and tc.function.name:
                name = tc.function.name
            args += (tc.function.arguments or "") if tc.function else ""
    assert call_id and name == "run_shell"
    assert json.loads(args) == {"command": "ls -la"}
    assert deltas >= 3
    assert finish == "tool_calls"


def test_tool_call_non_stream(client: OpenAI) -> None:
    resp = client.chat.completions.create(model="demo-tool", messages=_user("list files"))
    tool_calls = resp.choices[0].message.tool_calls
    assert tool_calls and tool_calls[0].type == "function"
    call = tool_calls[0]
    assert call.function.name == "run_shell"
    assert json.loads(call.function.arguments) == {"command": "ls -la"}
    assert resp.choices[0].finish_reason == "tool_calls"


def test_error_default_500(client: OpenAI) -> None:
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(model="demo-error", messages=_user("x"))
    assert info.value.status_code == 500
    assert "simulated upstream failure" in info.value.message


def test_error_status_chosen_by_request(client: OpenAI) -> None:
    with pytest.raises(openai.RateLimitError) as info:
        client.chat.completions.create(
            model="demo-error", messages=_user("x"), extra_body={"demo_status": 429}
        )
    assert info.value.status_code == 429


def test_unknown_model_is_404(client: OpenAI) -> None:
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-nope", messages=_user("x"))


def test_long_stream_honours_cli_default(client: OpenAI) -> None:
    stream = client.chat.completions.create(model="demo-long", messages=_user("go"), stream=True)
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert pieces == [f"chunk {i} " for i in range(7)]


def test_long_stream_honours_request_fields(client: OpenAI) -> None:
    stream = client.chat.completions.create(
        model="demo-long",
        messages=_user("go"),
        stream=True,
        extra_body={"demo_chunks": 120, "demo_delay_ms": 1},
    )
    pieces = [c.choices[0].delta.content for c in stream if c.choices and c.choices[0].delta.content]
    assert len(pieces) == 120 and pieces[-1] == "chunk 119 "
