"""The whole stack as a user runs it, Anthropic side: the official anthropic SDK → LiteLLM's own
`/v1/messages` (our callback) → demo upstream, policed by the real control plane of `luthien up --demo`.

One stack polices (a tool-call rule, then AllCaps); one leaves everything alone (NoOp: the stream is
relayed over the proxy link); both are the package's (tests/e2e/conftest.py). Both `/v1/messages`
paths of LiteLLM are driven: an `anthropic/` model (`demo-agent`, the upstream's own Messages API)
and an `openai/` one (`demo-echo`, `demo-tool`, translated by LiteLLM's adapter to chat completions).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import anthropic
import httpx
import pytest
from anthropic.types import Message, MessageParam

from tests.e2e.stack import BLOCK, RunningStack

pytestmark = pytest.mark.e2e

#: An `anthropic/` model (LiteLLM calls the upstream's /v1/messages) and an `openai/` one (translated).
TEXT_MODELS = ["demo-agent", "demo-echo"]


@pytest.fixture
def stack(policing_stack: RunningStack) -> RunningStack:
    """The package's policing stack (tests/e2e/conftest.py), shared with the Responses tests."""
    return policing_stack


def _client(stack: RunningStack, door: str = "litellm") -> anthropic.Anthropic:
    url = stack.proxy_url if door == "litellm" else stack.control_plane_url
    return anthropic.Anthropic(base_url=url, api_key=stack.api_key, max_retries=0, timeout=30)


def _direct(stack: RunningStack) -> anthropic.Anthropic:
    """The demo upstream without any proxy: the oracle for what an unpoliced answer is."""
    return anthropic.Anthropic(base_url=stack.upstream_url.removesuffix("/v1"), api_key="demo", max_retries=0)


def _ask(client: anthropic.Anthropic, model: str, text: str, *, stream: bool, **extra: Any) -> Message:
    """One call, streamed (the SDK assembles the events: `get_final_message`) or not."""
    messages: list[MessageParam] = [{"role": "user", "content": text}]
    if stream:
        with client.messages.stream(model=model, max_tokens=64, messages=messages, **extra) as events:
            return events.get_final_message()
    return client.messages.create(model=model, max_tokens=64, messages=messages, **extra)


def _blocks(message: Message) -> list[dict[str, Any]]:
    return [block.model_dump(exclude_none=True) for block in message.content]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("model", TEXT_MODELS)
def test_text_is_policed(stack: RunningStack, model: str, stream: bool) -> None:
    with _direct(stack) as direct, _client(stack) as client:
        expected = _ask(direct, model, "hello there policed world", stream=False)
        reply = _ask(client, model, "hello there policed world", stream=stream)
    assert _blocks(expected) == [{"type": "text", "text": "You said: hello there policed world"}]
    assert _blocks(reply) == [{"type": "text", "text": "YOU SAID: HELLO THERE POLICED WORLD"}]
    assert reply.stop_reason == "end_turn" and reply.role == "assistant"


def test_streamed_text_arrives_policed_delta_by_delta(stack: RunningStack) -> None:
    """Text streams at once, each delta policed: never one final blob, never an unpoliced delta."""
    messages: list[MessageParam] = [{"role": "user", "content": "one two three four five"}]
    with (
        _client(stack) as client,
        client.messages.stream(model="demo-agent", max_tokens=64, messages=messages) as events,
    ):
        deltas = [event.delta.text for event in events if event.type == "content_block_delta"]  # type: ignore[union-attr]
    assert len(deltas) >= 5 and all(text == text.upper() for text in deltas)
    assert "".join(deltas) == "YOU SAID: ONE TWO THREE FOUR FIVE"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_blocked_tool_use_never_reaches_the_client(stack: RunningStack, stream: bool) -> None:
    prompt = "run: cat /etc/shadow"
    with _direct(stack) as direct, _client(stack) as client:
        proposed = _ask(direct, "demo-agent", prompt, stream=False)
        reply = _ask(client, "demo-agent", prompt, stream=stream)
    assert [b["type"] for b in _blocks(proposed)] == ["tool_use"] and proposed.stop_reason == "tool_use"
    # The block message (upper-cased by the AllCaps after the rule) with end_turn: the agent does
    # not wait for a tool result.
    assert _blocks(reply) == [{"type": "text", "text": BLOCK.upper()}]
    assert reply.stop_reason == "end_turn"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize(
    ("model", "prompt", "name", "tool_input"),
    [
        ("demo-agent", "run: ls -la", "Bash", {"command": "ls -la"}),
        ("demo-tool", "list files", "run_shell", {"command": "ls -la"}),
    ],
)
def test_an_allowed_tool_use_arrives_whole(
    stack: RunningStack, model: str, prompt: str, name: str, tool_input: dict[str, str], stream: bool
) -> None:
    with _client(stack) as client:
        reply = _ask(client, model, prompt, stream=stream)
    [block] = _blocks(reply)
    assert (block["type"], block["name"], block["input"]) == ("tool_use", name, tool_input)
    assert block["id"] and reply.stop_reason == "tool_use"


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_an_upstream_error_keeps_anthropic_shape_and_status(stack: RunningStack, stream: bool) -> None:
    with _client(stack) as client, pytest.raises(anthropic.InternalServerError) as info:
        _ask(client, "demo-error", "hi", stream=stream)
    body = info.value.body
    assert info.value.status_code == 500 and isinstance(body, dict) and body["type"] == "error"
    assert body["error"]["type"] == "api_error" and "simulated upstream failure" in body["error"]["message"]


def _call(control_plane: httpx.Client, call_id: str) -> dict[str, Any]:
    """The call's read view, once its records (written in batches just after the answer) are in."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        answer = control_plane.get("/api/hooks/conversation", params={"call_id": call_id})
        if answer.status_code == 200 and answer.json()["call"]["completed_at"]:
            return answer.json()["call"]
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} never completed in the records")


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_records_show_the_dialect_the_text_and_the_session_trace(stack: RunningStack, stream: bool) -> None:
    """Claude Code names its session in a header on every request: LiteLLM makes it the trace."""
    session = str(uuid.uuid4())
    headers = {"x-claude-code-session-id": session}
    messages: list[MessageParam] = [{"role": "user", "content": "hello records"}]
    with _client(stack) as client, stack.control_plane() as control_plane:
        raw = client.messages.with_raw_response.create(
            model="demo-agent", max_tokens=64, messages=messages, stream=stream, extra_headers=headers
        )
        call_id = raw.headers["x-litellm-call-id"]
        parsed = raw.parse()
        text = (
            "".join(e.delta.text for e in parsed if e.type == "content_block_delta")  # type: ignore[union-attr]
            if stream
            else parsed.content[0].text  # type: ignore[union-attr]
        )
        view = _call(control_plane, call_id)
    assert text == "YOU SAID: HELLO RECORDS"
    assert (view["dialect"], view["status"], view["streamed"]) == ("anthropic_messages", "success", stream)
    assert view["trace_id"] == session
    assert view["request"]["original"] == messages
    assert (view["response"]["original"], view["response"]["final"]) == ("You said: hello records", text)


def test_a_blocked_call_is_recorded_with_the_decision(stack: RunningStack) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "run: cat ~/.ssh/id_rsa"}]
    with _client(stack) as client, stack.control_plane() as control_plane:
        raw = client.messages.with_raw_response.create(
            model="demo-agent", max_tokens=64, messages=messages, stream=True
        )
        call_id = raw.headers["x-litellm-call-id"]
        list(raw.parse())
        view = _call(control_plane, call_id)
    assert view["dialect"] == "anthropic_messages"
    assert [d.get("action") for d in view["decisions"]] == ["block"], view["decisions"]
    assert view["response"]["final"] == BLOCK.upper()


def test_both_doors_answer_alike_from_one_config_entry(stack: RunningStack) -> None:
    """`demo-agent` is one `anthropic/` entry; the native door reads the same base URL."""
    with _client(stack) as litellm, _client(stack, "native") as native:
        for stream in (False, True):
            assert _blocks(_ask(litellm, "demo-agent", "same answer", stream=stream)) == _blocks(
                _ask(native, "demo-agent", "same answer", stream=stream)
            )


def test_count_tokens_is_answered(stack: RunningStack) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "count these five words"}]
    with _client(stack) as client, _direct(stack) as direct:
        counted = client.messages.count_tokens(model="demo-agent", messages=messages)
        expected = direct.messages.count_tokens(model="demo-agent", messages=messages)
    assert counted.input_tokens == expected.input_tokens > 0


@pytest.mark.parametrize("model", TEXT_MODELS)
def test_a_policy_that_leaves_streams_alone_relays_them_and_records_them(
    noop_stack: RunningStack, model: str
) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "relay me please"}]
    with _client(noop_stack) as client, noop_stack.control_plane() as control_plane:
        assert _blocks(_ask(client, model, "relay me please", stream=False)) == [
            {"type": "text", "text": "You said: relay me please"}
        ]
        raw = client.messages.with_raw_response.create(
            model=model, max_tokens=64, messages=messages, stream=True
        )
        types = [event.type for event in raw.parse()]
        view = _call(control_plane, raw.headers["x-litellm-call-id"])
    assert types[0] == "message_start" and types[-1] == "message_stop"
    assert (view["dialect"], view["status"]) == ("anthropic_messages", "success")
    assert view["response"]["final"] == "You said: relay me please"
