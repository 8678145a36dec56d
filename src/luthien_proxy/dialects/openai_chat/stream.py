"""An OpenAI chat stream as neutral events, and the events a policy yields back as chunks.

`ChatStreamCodec` is one stream's decoder and encoder. Decoding, every chunk goes through the
`StreamCallAssembler`: text passes at once as `TextDelta` / `ReasoningDelta`, tool-call fragments and
finish reasons are held, and when the model's stream ends each call arrives as one `ToolCallEvent`,
then one `Stop` per choice, then what trailed (usage). Encoding, an event the policy did not change
is written as the very chunk it came from; a changed or new one is built on the stream's own chunk
(same id, model, created); a call is written only from the `ToolCall` the policy released.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, cast

from luthien_proxy.dialects.json_values import json_object
from luthien_proxy.dialects.openai_chat.assembler import StreamCallAssembler, delta_chunk
from luthien_proxy.dialects.openai_chat.calls import call_entry, legacy_entry
from luthien_proxy.dialects.openai_chat.messages import REASONING_FIELDS, finish_reason
from luthien_proxy.dialects.openai_chat.text import part_text
from luthien_proxy.model import (
    MalformedToolCall,
    Passthrough,
    ReasoningDelta,
    Stop,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
)

Chunk = dict[str, Any]
_TEXT_FIELDS = ("content", "refusal")
_CALL_FIELDS = ("tool_calls", "function_call")


def _single(chunk: Chunk, choice: Chunk, delta: Chunk) -> Chunk:
    return {**chunk, "choices": [{**choice, "delta": delta}]}


def _choice_events(chunk: Chunk, choice: Chunk) -> list[StreamEvent]:
    """The events of one choice of a passing chunk (`chunk` carries only that choice)."""
    delta = cast("Chunk", choice.get("delta") or {})
    index = cast("int", choice.get("index", 0))
    content = delta.get("content")
    if isinstance(content, str) and not (
        delta.get("refusal") or delta.get("reasoning_content") or delta.get("reasoning")
    ):
        # The common chunk (plain content, or a role announcement): no field walk, no dict built.
        return [TextDelta(content, index, "content", chunk, content) if content else Passthrough(chunk)]
    text = part_text({k: delta.get(k) for k in _TEXT_FIELDS})
    reasoning = part_text({k: delta.get(k) for k in REASONING_FIELDS})
    text_field = "refusal" if delta.get("content") is None and delta.get("refusal") else "content"
    reasoning_field = next((k for k in REASONING_FIELDS if delta.get(k)), REASONING_FIELDS[0])
    if text and reasoning:  # one event per chunk, so an edit to one cannot resend the other
        # The logprobs are the content's tokens: they go with the text half only.
        reasoning_choice = {k: v for k, v in choice.items() if k != "logprobs"}
        first = _single(chunk, reasoning_choice, {k: v for k, v in delta.items() if k not in _TEXT_FIELDS})
        second = _single(chunk, choice, {k: v for k, v in delta.items() if k in _TEXT_FIELDS})
        return [
            ReasoningDelta(reasoning, index, reasoning_field, raw=first, original=reasoning),
            TextDelta(text, index, text_field, raw=second, original=text),
        ]
    if text:
        return [TextDelta(text, index, text_field, raw=chunk, original=text)]
    if reasoning:
        return [ReasoningDelta(reasoning, index, reasoning_field, raw=chunk, original=reasoning)]
    return [Passthrough(chunk)]


def chunk_events(chunk: Chunk) -> list[StreamEvent]:
    """The events of a chunk the assembler let pass (a chunk of several choices is split per choice)."""
    choices = cast("list[Chunk]", chunk.get("choices") or [])
    if not choices:
        return [Passthrough(chunk)]
    if len(choices) == 1:
        return _choice_events(chunk, choices[0])
    return [event for choice in choices for event in _choice_events({**chunk, "choices": [choice]}, choice)]


class ChatStreamCodec:
    """One OpenAI chat stream: `decode` the model's chunks into events, `encode` the policy's events."""

    def __init__(self) -> None:
        self.assembler = StreamCallAssembler()
        self._written: dict[int, list[ToolCall]] = {}

    async def decode(self, chunks: AsyncIterator[Chunk]) -> AsyncIterator[StreamEvent]:
        assembler = self.assembler
        async for chunk in chunks:
            passing = assembler.feed(chunk)
            if passing is not None:
                for event in chunk_events(passing):
                    yield event
        for call in assembler.calls():
            yield ToolCallEvent(call)
        for choice, reason, raw in assembler.stops():
            yield Stop(choice, reason, raw=raw)
        for chunk in assembler.trailing():
            yield Passthrough(chunk)

    def encode(self, event: StreamEvent) -> Chunk:
        """The chunk that carries `event` to the client."""
        if isinstance(event, TextDelta | ReasoningDelta):
            return self._text_chunk(event)
        if isinstance(event, ToolCallEvent):
            return self._call_chunk(event.call)
        if isinstance(event, Stop):
            # A choice the model left without a finish still gets one: clients wait for it.
            reason = finish_reason(list(self._written.get(event.choice, [])), event.reason) or "stop"
            if event.raw is not None and reason == event.reason:
                return cast("Chunk", event.raw)
            return delta_chunk(self.assembler.template(event.choice), event.choice, {}, reason)
        return _checked_passthrough(event.raw)  # pyright: ignore[reportUnnecessaryIsInstance]

    def encode_frames(self, event: StreamEvent) -> list[Chunk]:
        """`encode` as the `StreamCodec` interface has it: every event is exactly one chunk."""
        return [self.encode(event)]

    def _text_chunk(self, event: TextDelta | ReasoningDelta) -> Chunk:
        raw = json_object(event.raw)
        if raw is None:
            return delta_chunk(self.assembler.template(event.choice), event.choice, {event.field: event.text})
        if event.text == event.original:
            return raw
        choice = cast("Chunk", raw["choices"][0])
        delta = dict(cast("Chunk", choice.get("delta") or {}))
        for name in _TEXT_FIELDS if isinstance(event, TextDelta) else REASONING_FIELDS:
            delta.pop(name, None)
        delta[event.field] = event.text
        # The model's logprobs spell out the text the policy replaced: they do not go with the edit.
        kept = {k: v for k, v in choice.items() if k != "logprobs"}
        return {**raw, "choices": [{**kept, "delta": delta}]}

    def _call_chunk(self, call: ToolCall) -> Chunk:
        written = self._written.setdefault(call.choice, [])
        template = self.assembler.template(call.choice)
        if call.kind == "legacy":
            delta: Chunk = {"function_call": legacy_entry(call)}
        else:
            position = sum(1 for c in written if c.kind != "legacy")
            delta = {"tool_calls": [{"index": position, **call_entry(call)}]}
        written.append(call)
        return delta_chunk(template, call.choice, delta)


def _checked_passthrough(raw: Any) -> Chunk:
    """A passthrough chunk, refused if it carries a call or a whole message: calls reach the
    client only as `ToolCallEvent`s, written from what the policy released."""
    if not isinstance(raw, dict):
        raise MalformedToolCall("a passthrough event must carry a chunk object")
    chunk = cast("Chunk", raw)
    for entry in cast("list[Any]", chunk.get("choices") or []):
        choice = json_object(entry)
        delta = json_object(choice.get("delta")) if choice is not None else None
        if (
            choice is None
            or choice.get("message") is not None
            or (delta is not None and any(delta.get(k) is not None for k in _CALL_FIELDS))
        ):
            raise MalformedToolCall("a passthrough chunk may not carry a tool call or a message")
    return chunk
