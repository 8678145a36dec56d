"""Text policies see (and rewrite) text wherever a request or response carries it."""

from __future__ import annotations

from typing import Any

import pytest

from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.dialects.openai_chat import chunk_text, response_text
from luthien_proxy.pipeline.policing import police_request, police_response
from luthien_proxy.policies import AllCapsPolicy, PolicyContext, PolicyRejection, RequestBlocklistPolicy


def ctx(request: dict[str, Any] | None = None) -> PolicyContext:
    return PolicyContext("c", None, request or {}, InProcessPolicyState())


HIDDEN = {
    "content": [{"type": "text", "text": "listed part"}],
    "refusal": "a refusal",
    "reasoning_content": "hidden reasoning",
}


async def test_all_caps_reaches_every_text_field_of_every_choice() -> None:
    response = {"choices": [{"index": 0, "message": {"content": "x"}}, {"index": 1, "message": dict(HIDDEN)}]}
    result = await police_response(AllCapsPolicy(), response, ctx())
    assert result["choices"][1]["message"] == {
        "content": [{"type": "text", "text": "LISTED PART"}],
        "refusal": "A REFUSAL",
        "reasoning_content": "HIDDEN REASONING",
    }
    assert "hidden reasoning" in response_text(response) and "listed part" in response_text(response)


def test_chunk_text_reads_reasoning_and_listed_content() -> None:
    chunk = {
        "choices": [{"index": 0, "delta": {"reasoning_content": "think "}}, {"index": 1, "delta": HIDDEN}]
    }
    assert chunk_text(chunk) == "think listed parta refusalhidden reasoning"


@pytest.mark.parametrize(
    "data",
    [
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "say FORBIDDEN"}]}]},
        {
            "messages": [
                {"role": "assistant", "tool_calls": [{"function": {"arguments": '{"q": "FORBIDDEN"}'}}]}
            ]
        },
        {"messages": [{"role": "assistant", "function_call": {"name": "f", "arguments": "FORBIDDEN"}}]},
        {
            "messages": [],
            "tools": [{"type": "function", "function": {"name": "t", "description": "FORBIDDEN"}}],
        },
        {"messages": [], "tools": [{"function": {"name": "t", "parameters": {"enum": ["FORBIDDEN"]}}}]},
        {"prompt": ["FORBIDDEN"]},
        {"input": [{"role": "user", "content": [{"type": "input_text", "text": "FORBIDDEN"}]}]},
        {"instructions": "FORBIDDEN"},
        {"system": [{"type": "text", "text": "FORBIDDEN"}]},
    ],
    ids=[
        "list-content",
        "tool-arguments",
        "function-call",
        "tool-description",
        "schema",
        "prompt",
        "input",
        "instructions",
        "system",
    ],
)
async def test_blocklist_sees_every_request_text(data: dict[str, Any]) -> None:
    policy = RequestBlocklistPolicy(patterns=["FORBIDDEN"])
    with pytest.raises(PolicyRejection):
        await police_request(policy, ctx(data))
    assert await police_request(policy, ctx({"messages": [{"role": "user", "content": "fine"}]})) is None
