"""Streaming-safe tool-call handling shared by every protocol.

Text deltas pass straight through; tool-call deltas are held back until the call is complete (its
`finish_reason`, or the end of the stream), then `decide` turns the complete calls into an
`Outcome` and only that reaches the client: released calls as complete deltas, text (a block
message, the trusted model's answer) as a content chunk, and a finish chunk whose reason matches.
Not one byte of a held call is yielded before `decide` returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from luthien_proxy.protocols.toolcalls import (
    CallAssembler,
    Outcome,
    ToolCall,
    call_chunk,
    finish_chunk,
    text_chunk,
)

Chunk = dict[str, Any]
Decide = Callable[[list[ToolCall]], Awaitable[Outcome]]


def _without_calls(chunk: Chunk) -> Chunk | None:
    """The chunk minus its tool-call deltas and finish reason; None when nothing else is left."""
    choices = []
    for choice in chunk.get("choices") or ():
        delta = {k: v for k, v in (choice.get("delta") or {}).items() if k != "tool_calls"}
        if delta.get("content") or delta.get("role"):
            choices.append({**choice, "delta": delta, "finish_reason": None})
    return {**chunk, "choices": choices} if choices else None


def _has_calls(chunk: Chunk) -> bool:
    return any((choice.get("delta") or {}).get("tool_calls") for choice in chunk.get("choices") or ())


def _finish_reason(chunk: Chunk) -> str | None:
    for choice in chunk.get("choices") or ():
        if choice.get("finish_reason"):
            return str(choice["finish_reason"])
    return None


def outcome_chunks(template: Chunk, outcome: Outcome) -> list[Chunk]:
    """What the client receives in place of the held calls."""
    chunks = []
    if outcome.text:
        chunks.append(text_chunk(template, outcome.text))
    if outcome.tool_calls:
        chunks.append(call_chunk(template, outcome.tool_calls))
    chunks.append(finish_chunk(template, "tool_calls" if outcome.tool_calls else "stop"))
    return chunks


async def guard_stream(chunks: AsyncIterator[Chunk], decide: Decide) -> AsyncIterator[Chunk]:
    """Yield `chunks` with every tool call held until complete and replaced by `decide`'s outcome."""
    assembler = CallAssembler()
    template: Chunk | None = None
    resolved = False
    async for chunk in chunks:
        if not resolved and _has_calls(chunk):
            template = template or chunk
            for choice in chunk.get("choices") or ():
                assembler.add((choice.get("delta") or {}).get("tool_calls") or [])
            rest = _without_calls(chunk)
            if rest is not None:
                yield rest
            if _finish_reason(chunk):
                resolved = True
                for out in outcome_chunks(template, await decide(assembler.calls())):
                    yield out
            continue
        if assembler and not resolved and _finish_reason(chunk):
            resolved = True
            rest = _without_calls(chunk)
            if rest is not None:
                yield rest
            for out in outcome_chunks(template or chunk, await decide(assembler.calls())):
                yield out
            continue
        yield chunk
    if assembler and not resolved and template is not None:
        for out in outcome_chunks(template, await decide(assembler.calls())):
            yield out
