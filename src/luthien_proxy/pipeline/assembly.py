"""The pipeline's tool-call assembly: policies only ever see complete, canonical tool calls.

Before any policy sees a response, every call of every choice (`tool_calls`, custom tools and the
legacy `function_call`) is read whole and re-encoded from its decoded arguments; a stream's
fragments are held until the upstream ends and then written as one complete call per index.
The client therefore receives calls built from the very objects the policy judged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from luthien_proxy.policies.call_assembly import StreamCallAssembler
from luthien_proxy.policies.tool_calls import ToolCall, response_calls

Chunk = dict[str, Any]


def assembled_response(response: dict[str, Any]) -> dict[str, Any]:
    """`response` with every choice's calls rewritten from their canonical form; raises
    `MalformedToolCall` when a choice or call is not what the chat format allows."""
    calls = response_calls(response)
    if not calls:
        return response
    by_choice: dict[int, list[ToolCall]] = {}
    for call in calls:
        by_choice.setdefault(call.choice, list[ToolCall]()).append(call)
    choices: list[dict[str, Any]] = []
    for position, choice in enumerate(response["choices"]):
        mine = by_choice.get(choice.get("index", position))
        if mine is None:
            choices.append(choice)
            continue
        message = {k: v for k, v in choice["message"].items() if k not in ("tool_calls", "function_call")}
        entries = [call.openai() for call in mine if call.kind != "legacy"]
        if entries:
            message["tool_calls"] = entries
        legacy = next((call for call in mine if call.kind == "legacy"), None)
        if legacy is not None:
            message["function_call"] = legacy.legacy_openai()
        rewritten = {**choice, "message": message}
        rewritten.pop("logprobs", None)  # the logprobs of a call's tokens would spell out the call
        choices.append(rewritten)
    return {**response, "choices": choices}


async def assembled_stream(chunks: AsyncIterator[Chunk]) -> AsyncIterator[Chunk]:
    """`chunks` with text passed at once and every tool call written whole when the upstream ends."""
    assembler = StreamCallAssembler()
    async for chunk in chunks:
        passing = assembler.feed(chunk)
        if passing is not None:
            yield passing
    for chunk in assembler.closing_chunks(assembler.calls()):
        yield chunk
