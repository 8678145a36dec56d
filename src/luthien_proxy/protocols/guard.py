"""Streaming-safe tool-call handling shared by every protocol.

Text passes straight through; every tool-call fragment and finish reason is held by a
`StreamCallAssembler` until the policy's input ends (the pipeline has already written each call
whole by then), `decide` turns the complete calls into an `Outcome`, and only that reaches the
client: released calls re-encoded from what was judged, text (a block message, the trusted model's
answer), and a finish per choice. Not one byte of a held call is yielded before `decide` returns,
and no fragment can arrive after it: the input has ended.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from luthien_proxy.policies.call_assembly import StreamCallAssembler
from luthien_proxy.protocols.toolcalls import Outcome, ToolCall

Chunk = dict[str, Any]
Decide = Callable[[list[ToolCall]], Awaitable[Outcome]]


async def guard_stream(chunks: AsyncIterator[Chunk], decide: Decide) -> AsyncIterator[Chunk]:
    """Yield `chunks` with every tool call held until the input ends and replaced by `decide`'s outcome."""
    assembler = StreamCallAssembler()
    async for chunk in chunks:
        passing = assembler.feed(chunk)
        if passing is not None:
            yield passing
    calls = assembler.calls()
    outcome = await decide(calls) if calls else Outcome()
    for chunk in assembler.closing_chunks(outcome.tool_calls, outcome.text):
        yield chunk
