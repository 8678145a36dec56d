"""What the client assembles is exactly what was judged, whatever shape the model gives a tool call.

The pipeline's assembly and the shipped rules run over each hostile shape of the demo upstream
(and, as a property, over random fragmentations drawn by Hypothesis); the `openai` SDK's own
stream accumulator assembles the output as a client would. The end-to-end twin, through both
doors of a real stack, is tests/scenarios/test_hostile_shapes.py.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openai.lib.streaming.chat import ChatCompletionStreamState
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.dialects.openai_chat import ChatStreamCodec
from luthien_proxy.model import MalformedToolCall
from luthien_proxy.pipeline.policing import police_response, police_stream
from luthien_proxy.protocols import ToolCallRulesPolicy
from luthien_proxy.protocols.rules import DEFAULT_MESSAGE
from luthien_proxy.tooling.demo_upstream import hostile_shapes
from tests.protocols.conftest import Calls, aiter_list, collect, offline_host
from tests.support.tool_calls import client_calls, is_root_delete


def frames_to_chunks(frames: list[bytes]) -> list[dict[str, Any]]:
    return [orjson.loads(frame[len(b"data: ") :]) for frame in frames]


async def policed_stream(chunks: list[dict[str, Any]], calls: Calls) -> ChatCompletion:
    """The shipped rules over the pipeline's assembly, accumulated by the openai SDK."""
    policy = ToolCallRulesPolicy(host=offline_host())
    ctx = calls.stream({"model": "demo-tool", "messages": []})
    out = await collect(police_stream(policy, aiter_list(chunks), ctx))
    state = ChatCompletionStreamState()
    for chunk in out:
        state.handle_chunk(ChatCompletionChunk.model_validate(chunk))
    return state.get_final_completion()


async def policed_response(body: dict[str, Any], calls: Calls) -> ChatCompletion:
    policy = ToolCallRulesPolicy(host=offline_host())
    result = await police_response(policy, body, calls.call())
    return ChatCompletion.model_validate(result)


def assert_nothing_dangerous(completion: ChatCompletion, calls: Calls) -> None:
    released = client_calls(completion)
    assert not [c for c in released if is_root_delete(c[2])], released
    judged = {(d["tool_call"]["name"], d["tool_call"]["arguments"]) for d in calls.decisions}
    for _, name, arguments in released:  # byte for byte what a rule saw and allowed
        assert (name, arguments) in judged
    assert any(d["action"] == "block" for d in calls.decisions)


@pytest.mark.parametrize("shape", [s for s in hostile_shapes.SHAPES if s != "random"])
async def test_each_hostile_shape_is_blocked_streamed(shape: str, calls: Calls) -> None:
    chunks = frames_to_chunks(list(hostile_shapes.stream_frames("demo-tool", hostile_shapes.plan(shape, 0))))
    completion = await policed_stream(chunks, calls)
    assert_nothing_dangerous(completion, calls)
    assert DEFAULT_MESSAGE in "".join(c.message.content or "" for c in completion.choices)


@pytest.mark.parametrize("shape", [s for s in hostile_shapes.SHAPES if s != "random"])
async def test_each_hostile_shape_is_blocked_whole(shape: str, calls: Calls) -> None:
    body = orjson.loads(hostile_shapes.completion("demo-tool", hostile_shapes.plan(shape, 0)))
    assert_nothing_dangerous(await policed_response(body, calls), calls)


@st.composite
def fragmentations(draw: st.DrawFn) -> hostile_shapes.Plan:
    """A dangerous call split, escaped, spaced and placed at random."""
    command = draw(st.sampled_from(hostile_shapes.SPACINGS)) + draw(st.sampled_from(["", "*", " -v"]))
    escapes = draw(st.lists(st.booleans(), min_size=len(command), max_size=len(command)))
    body = "".join(
        "\\/" if c == "/" else f"\\u{ord(c):04x}" if e else json.dumps(c)[1:-1]
        for c, e in zip(command, escapes, strict=True)
    )
    text = '{"command":"' + body + '"}'
    cuts = sorted(draw(st.sets(st.integers(1, len(text) - 1), max_size=10)))
    pieces = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    return hostile_shapes.Plan(
        text,
        pieces,
        choice=draw(st.integers(0, 1)),  # the SDK cannot accumulate a choice 2 without a choice 1
        index=draw(st.integers(0, 3)),
        legacy=draw(st.booleans()),
        finish_between=draw(st.sets(st.integers(0, max(0, len(pieces) - 2)), max_size=3)),
        benign_first=draw(st.booleans()),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shaped=fragmentations())
async def test_no_random_fragmentation_reaches_the_client(shaped: hostile_shapes.Plan) -> None:
    calls = Calls(InProcessPolicyState())
    chunks = frames_to_chunks(list(hostile_shapes.stream_frames("demo-tool", shaped)))
    if shaped.benign_first and shaped.index == 0 and shaped.choice == 0 and not shaped.legacy:
        # The dangerous fragments extend the benign call: two objects in one call, not JSON.
        with pytest.raises(MalformedToolCall, match="not valid JSON"):
            await policed_stream(chunks, calls)
        return
    assert_nothing_dangerous(await policed_stream(chunks, calls), calls)


async def test_benign_call_reaches_the_client_as_judged(calls: Calls) -> None:
    pieces = ['{"command":', '"ls \\u002dla"', "}"]
    shaped = hostile_shapes.Plan('{"command":"ls \\u002dla"}', pieces, finish_between={0})
    completion = await policed_stream(
        frames_to_chunks(list(hostile_shapes.stream_frames("m", shaped))), calls
    )
    assert client_calls(completion) == [(0, "run_shell", '{"command":"ls -la"}')]
    assert [d["action"] for d in calls.decisions] == ["allow"]


@pytest.mark.parametrize(
    "choices",
    [
        "not a list",
        [1],
        [{"index": "0", "delta": {}, "finish_reason": "stop"}],
        [{"delta": {"tool_calls": [{"index": -1}]}}],
    ],
)
async def test_malformed_stream_shapes_end_the_stream(choices: Any, calls: Calls) -> None:
    chunks = [{"id": "x", "object": "chat.completion.chunk", "choices": choices}]
    with pytest.raises(MalformedToolCall):
        await collect(ChatStreamCodec().decode(aiter_list(chunks)))
