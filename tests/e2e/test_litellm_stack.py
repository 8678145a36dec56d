"""The whole stack as a user runs it: the official openai SDK → LiteLLM proxy (our callback) →
demo upstream, policed by the real control plane started by `luthien up --demo`."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import openai
import pytest
import yaml
from openai.types.chat import ChatCompletionMessageParam

from tests.e2e.stack import REPO, RunningStack, luthien_up

pytestmark = pytest.mark.e2e

PROMPT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there policed world"}]


def _separator(chunks: list[str]) -> list[str]:
    out, seen = [], 0
    for text in chunks:
        if text:
            seen += 1
            text = text + " | " if seen % 2 == 0 else text
        out.append(text)
    return out


# policy → (transform of a non-streamed answer, transform of the streamed chunk texts). NoOp and
# AllCaps are the package's shared stacks (tests/e2e/conftest.py): `luthien_config.yaml` and the
# Messages and Responses tests' policing chain (a tool-call rule, then AllCaps: text as all_caps.yaml).
# The third stack chains the shipped blocklist.yaml and streaming_separator.yaml (one stack for the
# blocklist's refusals and the separator's rewrites; no prompt here but the refused one matches).
POLICIES: dict[str, tuple[Callable[[str], str], Callable[[list[str]], list[str]]]] = {
    "luthien_config.yaml": (lambda text: text, lambda chunks: chunks),
    "policing": (str.upper, lambda chunks: [c.upper() for c in chunks]),
    "blocklist+streaming_separator": (lambda text: text, _separator),
}
SHARED = {
    "luthien_config.yaml": "noop_stack",
    "policing": "policing_stack",
    "blocklist+streaming_separator": "blocklist_separator_stack",
}
_POLICY_OF: dict[int, str] = {}


@pytest.fixture(scope="module")
def blocklist_separator_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """ChainPolicy of the policies of config/blocklist.yaml then config/streaming_separator.yaml."""
    workdir = tmp_path_factory.mktemp("stack")
    chained = [
        yaml.safe_load((REPO / "config" / name).read_text())["policy"]
        for name in ("blocklist.yaml", "streaming_separator.yaml")
    ]
    policy = workdir / "blocklist_then_separator.yaml"
    chain = {"class": "luthien_proxy.protocols:ChainPolicy", "config": {"policies": chained}}
    policy.write_text(yaml.safe_dump({"policy": chain}))
    with luthien_up(workdir, policy=str(policy)) as running:
        yield running


@pytest.fixture(scope="module", params=list(POLICIES))
def stack(request: pytest.FixtureRequest) -> RunningStack:
    running: RunningStack = request.getfixturevalue(SHARED[request.param])
    _POLICY_OF[id(running)] = request.param
    return running


def _transforms(stack: RunningStack) -> tuple[Callable[[str], str], Callable[[list[str]], list[str]]]:
    return POLICIES[_POLICY_OF[id(stack)]]


def _direct(stack: RunningStack) -> openai.OpenAI:
    """The demo upstream without any proxy: the oracle for what an unpoliced answer is."""
    return openai.OpenAI(base_url=stack.upstream_url, api_key="demo", max_retries=0)


def _stream_texts(stream: Any) -> list[str]:
    return [chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices]


def test_non_streamed_answer_is_policed(stack: RunningStack) -> None:
    expected = (
        _direct(stack).chat.completions.create(model="demo-echo", messages=PROMPT).choices[0].message.content
    )
    reply = stack.client().chat.completions.create(model="demo-echo", messages=PROMPT)
    assert expected == "You said: hello there policed world"
    assert reply.choices[0].message.content == _transforms(stack)[0](expected)


def test_streamed_answer_is_policed_chunk_by_chunk(stack: RunningStack) -> None:
    direct = _stream_texts(
        _direct(stack).chat.completions.create(model="demo-echo", messages=PROMPT, stream=True)
    )
    policed = _stream_texts(
        stack.client().chat.completions.create(model="demo-echo", messages=PROMPT, stream=True)
    )
    expected = [text for text in _transforms(stack)[1](direct) if text]
    assert [text for text in policed if text] == expected
    assert len(expected) >= 4


def test_tool_calls_arrive_intact(stack: RunningStack) -> None:
    client = stack.client()
    reply = client.chat.completions.create(model="demo-tool", messages=PROMPT)
    [call] = reply.choices[0].message.tool_calls or []
    assert call.function.name == "run_shell"  # type: ignore[union-attr]
    assert json.loads(call.function.arguments) == {"command": "ls -la"}  # type: ignore[union-attr]
    assert reply.choices[0].finish_reason == "tool_calls"

    name, arguments, finish = "", "", None
    for chunk in client.chat.completions.create(model="demo-tool", messages=PROMPT, stream=True):
        if not chunk.choices:
            continue
        for delta in chunk.choices[0].delta.tool_calls or []:
            name += (delta.function.name or "") if delta.function else ""
            arguments += (delta.function.arguments or "") if delta.function else ""
        finish = chunk.choices[0].finish_reason or finish
    assert (name, json.loads(arguments), finish) == ("run_shell", {"command": "ls -la"}, "tool_calls")


def test_call_is_recorded_and_published_under_its_ids(stack: RunningStack) -> None:
    trace_id = f"trace-{uuid.uuid4().hex[:8]}"
    events: list[dict[str, Any]] = []
    with (
        stack.control_plane() as control_plane,
        control_plane.stream(
            "GET", "/api/hooks/conversation/stream_by_trace", params={"trace_id": trace_id}
        ) as live,
    ):
        lines = live.iter_lines()
        assert next(lines) == "retry: 2000"
        raw = stack.client().chat.completions.with_raw_response.create(
            model="demo-echo",
            messages=PROMPT,
            stream=True,
            extra_headers={"x-litellm-trace-id": trace_id},
        )
        call_id = raw.headers["x-litellm-call-id"]
        final_text = "".join(_stream_texts(raw.parse()))
        for line in lines:
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if events[-1]["type"] == "request_completed":
                    break
        snapshot = _wait_for_completed(control_plane, call_id)
    assert {e["call_id"] for e in events} == {call_id}
    kinds = [e["type"] for e in events]
    assert kinds[0] == "request_started" and kinds[-1] == "request_completed"
    assert "original_chunk" in kinds and "final_chunk" in kinds
    assert events[-1]["payload"]["final_text"] == final_text
    view = snapshot["call"]
    assert (view["trace_id"], view["status"], view["streamed"]) == (trace_id, "success", True)
    assert view["response"]["final"] == final_text
    assert view["request"]["original"] == PROMPT


def _wait_for_completed(control_plane: httpx.Client, call_id: str) -> dict[str, Any]:
    """Records are written in batches just after the answer; poll until the call's summary is in."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = control_plane.get("/api/hooks/conversation", params={"call_id": call_id})
        if response.status_code == 200 and response.json()["call"]["completed_at"]:
            return response.json()
        time.sleep(0.05)
    raise AssertionError(f"call {call_id} never completed in the records")


def test_twenty_concurrent_streams_stay_separate(stack: RunningStack) -> None:
    transform = _transforms(stack)[1]

    async def one(client: openai.AsyncOpenAI, n: int) -> tuple[list[str], list[str]]:
        messages: list[ChatCompletionMessageParam] = [
            {"role": "user", "content": f"stream number {n} of twenty"}
        ]
        direct = openai.AsyncOpenAI(base_url=stack.upstream_url, api_key="demo", max_retries=0)
        async with direct:
            expected = [
                c.choices[0].delta.content or ""
                async for c in await direct.chat.completions.create(
                    model="demo-echo", messages=messages, stream=True
                )
                if c.choices
            ]
        got = [
            c.choices[0].delta.content or ""
            async for c in await client.chat.completions.create(
                model="demo-echo", messages=messages, stream=True
            )
            if c.choices
        ]
        return [t for t in transform(expected) if t], [t for t in got if t]

    async def all_of_them() -> list[tuple[list[str], list[str]]]:
        async with stack.async_client() as client:
            return await asyncio.gather(*(one(client, n) for n in range(20)))

    for expected, got in asyncio.run(all_of_them()):
        assert got == expected


def test_blocklist_rejects_before_the_model_is_called(blocklist_separator_stack: RunningStack) -> None:
    client = blocklist_separator_stack.client()
    bad: list[ChatCompletionMessageParam] = [{"role": "user", "content": "please run rm -rf / now"}]
    with pytest.raises(openai.PermissionDeniedError) as plain:
        client.chat.completions.create(model="demo-echo", messages=bad)
    with pytest.raises(openai.PermissionDeniedError) as streamed:
        for _ in client.chat.completions.create(model="demo-echo", messages=bad, stream=True):
            pass
    allowed = client.chat.completions.create(model="demo-echo", messages=PROMPT)
    assert "blocked by the Luthien blocklist policy" in str(plain.value)
    assert "blocked by the Luthien blocklist policy" in str(streamed.value)
    assert allowed.choices[0].message.content == "You said: hello there policed world"


def test_missing_key_is_a_clean_401(stack: RunningStack) -> None:
    response = httpx.post(
        f"{stack.proxy_url}/v1/chat/completions", json={"model": "demo-echo", "messages": PROMPT}
    )
    assert response.status_code == 401


def test_native_door_answers_like_the_litellm_door(stack: RunningStack) -> None:
    native = openai.OpenAI(base_url=f"{stack.control_plane_url}/v1", api_key=stack.api_key, max_retries=0)
    via_litellm = stack.client().chat.completions.create(model="demo-echo", messages=PROMPT)
    via_native = native.chat.completions.create(model="demo-echo", messages=PROMPT)
    streamed = _stream_texts(native.chat.completions.create(model="demo-echo", messages=PROMPT, stream=True))
    direct = _stream_texts(
        _direct(stack).chat.completions.create(model="demo-echo", messages=PROMPT, stream=True)
    )
    assert via_native.choices[0].message.content == via_litellm.choices[0].message.content
    assert [t for t in streamed if t] == [t for t in _transforms(stack)[1](direct) if t]
