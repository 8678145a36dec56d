"""`guard_stream`: text flows at once, tool calls are held until complete, then replaced."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.model import StreamEvent
from luthien_proxy.pipeline.policing import police_stream
from luthien_proxy.policies import LuthienPolicy, PolicyContext
from luthien_proxy.protocols.guard import Decide, guard_stream
from luthien_proxy.protocols.toolcalls import Outcome, ToolCall
from tests.protocols.conftest import aiter_list, collect


class _Guard(LuthienPolicy):
    """`guard_stream` as a policy's whole `on_stream`, run on chat chunks as the doors run it."""

    def __init__(self, decide: Decide) -> None:
        self.decide = decide

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async for event in guard_stream(events, self.decide):
            yield event


def guarded(chunks: AsyncIterator[dict[str, Any]], decide: Decide) -> AsyncIterator[dict[str, Any]]:
    return police_stream(_Guard(decide), chunks, PolicyContext("c", None, {}, InProcessPolicyState()))


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "c",
        "object": "chat.completion.chunk",
        "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _call_delta(**fields: Any) -> dict[str, Any]:
    return {"tool_calls": [{"index": 0, **fields}]}


DANGEROUS = [
    _chunk({"role": "assistant", "content": "Working."}),
    _chunk(_call_delta(id="call_x", type="function", function={"name": "run_shell", "arguments": ""})),
    _chunk(_call_delta(function={"arguments": '{"command": '})),
    _chunk(_call_delta(function={"arguments": '"rm -rf /"}'})),
    _chunk({}, "tool_calls"),
    {"id": "c", "object": "chat.completion.chunk", "model": "m", "choices": [], "usage": {"total_tokens": 3}},
]


async def test_blocked_call_never_reaches_the_output() -> None:
    seen: list[list[ToolCall]] = []

    async def block(calls: list[ToolCall]) -> Outcome:
        seen.append(calls)
        return Outcome(text="blocked")

    out = await collect(guarded(aiter_list(DANGEROUS), block))
    assert seen == [[ToolCall("call_x", "run_shell", '{"command":"rm -rf /"}')]]
    assert "rm -rf" not in str(out) and "call_x" not in str(out) and "run_shell" not in str(out)
    texts = [c["choices"][0]["delta"].get("content") for c in out if c["choices"]]
    assert texts == ["Working.", "blocked", None]
    assert out[-2]["choices"][0]["finish_reason"] == "stop"
    assert out[-1]["usage"] == {"total_tokens": 3}


async def test_released_call_is_one_complete_delta() -> None:
    async def allow(calls: list[ToolCall]) -> Outcome:
        return Outcome(tool_calls=calls)

    out = await collect(guarded(aiter_list(DANGEROUS), allow))
    deltas = [d for c in out for ch in c["choices"] for d in ch["delta"].get("tool_calls") or ()]
    assert deltas == [
        {
            "index": 0,
            "id": "call_x",
            "type": "function",
            "function": {"name": "run_shell", "arguments": '{"command":"rm -rf /"}'},
        }
    ]
    assert [ch["finish_reason"] for c in out for ch in c["choices"] if ch["finish_reason"]] == ["tool_calls"]


async def test_text_is_not_held_back_while_a_call_is_pending() -> None:
    release = asyncio.Event()

    async def source() -> AsyncIterator[dict[str, Any]]:
        yield DANGEROUS[0]
        await release.wait()
        for chunk in DANGEROUS[1:]:
            yield chunk

    async def allow(calls: list[ToolCall]) -> Outcome:
        return Outcome(tool_calls=calls)

    output = guarded(source(), allow)
    first = await asyncio.wait_for(anext(output), timeout=5)
    assert first["choices"][0]["delta"]["content"] == "Working."
    release.set()
    rest = await collect(output)
    assert any(ch["delta"].get("tool_calls") for c in rest for ch in c["choices"])


async def test_call_without_finish_reason_is_decided_at_the_end() -> None:
    decided: list[int] = []

    async def drop(calls: list[ToolCall]) -> Outcome:
        decided.append(len(calls))
        return Outcome()

    out = await collect(guarded(aiter_list(DANGEROUS[:4]), drop))
    assert decided == [1]
    assert "rm -rf" not in str(out)
    assert out[-1]["choices"][0]["finish_reason"] == "stop"


async def test_stream_without_calls_passes_through_unchanged() -> None:
    chunks = [_chunk({"content": "a"}), _chunk({"content": "b"}), _chunk({}, "stop")]

    async def never(calls: list[ToolCall]) -> Outcome:
        raise AssertionError("no call to decide")

    assert await collect(guarded(aiter_list(chunks), never)) == chunks
