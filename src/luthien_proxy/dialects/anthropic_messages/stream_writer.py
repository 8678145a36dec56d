"""Writes the events a policy yields as an Anthropic Messages stream the client can trust.

Whatever the policy drops, adds, reorders or replaces, the client gets a well-formed stream: one
`message_start` first, content blocks opened and closed one at a time with `index` values 0..n in
order (a block the policy broke up is continued in a new block), a `tool_use` block written only
from a released `ToolCallEvent` (start with input `{}`, one `input_json_delta` holding the canonical
arguments, stop), and a `stop_reason` that matches what was released (`tool_use` only if a call
was). A frame the policy left alone, at the index it had, is the model's very frame.
"""

from __future__ import annotations

from dataclasses import dataclass

from luthien_proxy.dialects.anthropic_messages.stream_reader import StreamReader
from luthien_proxy.dialects.json_values import Json, json_object
from luthien_proxy.model import (
    MalformedToolCall,
    Passthrough,
    ReasoningDelta,
    Stop,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    canonical_arguments,
)

#: The text field and delta type of the blocks a text event is written into.
_TEXT_KINDS = {"text": ("text", "text_delta"), "thinking": ("thinking", "thinking_delta")}


@dataclass
class _Open:
    index: int  # as the client sees it
    source: int | None  # the model's index, None for a block the writer made
    kind: str


def _at(frame: Json, index: int) -> Json:
    return frame if frame.get("index") == index else {**frame, "index": index}


def _source(raw: Json | None) -> int | None:
    index = raw.get("index") if raw is not None else None
    return index if isinstance(index, int) and not isinstance(index, bool) else None


class FrameWriter:
    """One stream's encoder: `frames(event)` is every frame that carries `event` (none, one, several)."""

    def __init__(self, reader: StreamReader) -> None:
        self._reader = reader
        self._next = 0
        self._open: _Open | None = None
        self._released = 0
        self._started = False

    def frames(self, event: StreamEvent) -> list[Json]:
        if isinstance(event, TextDelta):
            return self._text(event, "text")
        if isinstance(event, ReasoningDelta):
            return self._text(event, "thinking")
        if isinstance(event, ToolCallEvent):
            return self._call(event.call)
        if isinstance(event, Stop):
            return self._stop(event.reason, json_object(event.raw))
        return self._passthrough(event)

    def _preamble(self) -> list[Json]:
        """`message_start` when content comes before it (a policy that speaks first)."""
        if self._started:
            return []
        self._started = True
        start = self._reader.message_start or {
            "type": "message_start",
            "message": {
                "id": "msg_luthien",
                "type": "message",
                "role": "assistant",
                "model": "",
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {"input_tokens": 0, "output_tokens": 0},
            },
        }
        return [start]

    def _close(self) -> list[Json]:
        if self._open is None:
            return []
        index, self._open = self._open.index, None
        return [{"type": "content_block_stop", "index": index}]

    def _begin(self, source: int | None, kind: str, start: Json | None) -> list[Json]:
        """Close the open block and open a new one at the next index, from `start` when given."""
        out = [*self._preamble(), *self._close()]
        index, self._next = self._next, self._next + 1
        self._open = _Open(index, source, kind)
        if start is None:
            block: Json = {"type": kind, _TEXT_KINDS[kind][0]: ""}
            if kind == "thinking":
                block["signature"] = ""
            start = {"type": "content_block_start", "index": index, "content_block": block}
        out.append(_at(start, index))
        return out

    def _continue(self, source: int | None, kind: str) -> list[Json]:
        """Frames that make the block `source` (of `kind`) the open one: none if it is open, else a
        new block continuing it (its model start frame again, with the new index)."""
        if (
            self._open is not None
            and self._open.kind == kind
            and (source is None or self._open.source == source)
        ):
            return []
        block = self._reader.blocks.get(source) if source is not None else None
        if block is not None and block.kind == "tool_use":
            raise MalformedToolCall("a tool_use block reaches the client only as a released call")
        return self._begin(source, kind, block.start if block is not None and block.kind == kind else None)

    def _text(self, event: TextDelta | ReasoningDelta, kind: str) -> list[Json]:
        raw = json_object(event.raw)
        source = _source(raw)
        out = self._continue(source, kind)
        assert self._open is not None
        index = self._open.index
        if raw is not None and event.text == event.original:
            out.append(_at(raw, index))
            return out
        key, delta_type = _TEXT_KINDS[kind]
        base = raw or {"type": "content_block_delta", "index": index}
        delta = json_object(base.get("delta")) or {"type": delta_type}
        out.append({**base, "index": index, "delta": {**delta, key: event.text}})
        return out

    def _call(self, call: ToolCall) -> list[Json]:
        arguments = canonical_arguments(call.arguments)  # what the client assembles is what was judged
        original = self._reader.call_blocks.get(call.id, {"type": "tool_use"})
        block: Json = {**original, "type": "tool_use", "id": call.id, "name": call.name, "input": {}}
        out = self._begin(
            None, "tool_use", {"type": "content_block_start", "index": 0, "content_block": block}
        )
        assert self._open is not None
        index = self._open.index
        delta = {"type": "input_json_delta", "partial_json": arguments}
        out.append({"type": "content_block_delta", "index": index, "delta": delta})
        out.extend(self._close())
        self._released += 1
        return out

    def _stop(self, reason: str | None, raw: Json | None) -> list[Json]:
        out = [*self._preamble(), *self._close()]
        # A client waits for a tool result after `tool_use`: only a released call may say so.
        wanted = "tool_use" if self._released else ("end_turn" if reason == "tool_use" else reason)
        if raw is None:
            delta: Json = {"stop_reason": wanted or "end_turn", "stop_sequence": None}
            out.append({"type": "message_delta", "delta": delta, "usage": {"output_tokens": 0}})
        elif wanted == reason:
            out.append(raw)
        else:
            delta = json_object(raw.get("delta")) or {}
            out.append({**raw, "delta": {**delta, "stop_reason": wanted}})
        return out

    def _passthrough(self, event: Passthrough) -> list[Json]:
        raw = json_object(event.raw)  # pyright: ignore[reportUnknownArgumentType]
        if raw is None:
            raise MalformedToolCall("a passthrough event must carry a stream event object")
        kind = raw.get("type")
        if kind == "content_block_delta":
            return self._passthrough_delta(raw)
        if kind == "content_block_stop":
            if self._open is None or self._open.source != _source(raw):
                return []  # the block was closed already (the policy wrote something else in between)
            index, self._open = self._open.index, None
            return [_at(raw, index)]
        if kind == "content_block_start":
            content = json_object(raw.get("content_block")) or {}
            block_kind = content.get("type")
            if block_kind == "tool_use":
                raise MalformedToolCall("a tool_use block reaches the client only as a released call")
            return self._begin(_source(raw), str(block_kind), raw)
        if kind == "message_start":
            message = json_object(raw.get("message")) or {}
            if message.get("content") not in (None, []):
                raise MalformedToolCall("message_start may not carry content")
            if self._started:
                return []  # the writer opened the stream with it already, for a policy that spoke first
            self._started = True
            return [raw]
        if kind == "message_delta":
            delta = json_object(raw.get("delta")) or {}
            reason = delta.get("stop_reason")
            return self._stop(reason if isinstance(reason, str) else None, raw)
        if kind == "message_stop":
            return [*self._preamble(), *self._close(), raw]
        if kind == "error":
            return [*self._close(), raw]
        return [raw]

    def _passthrough_delta(self, raw: Json) -> list[Json]:
        source = _source(raw)
        block = self._reader.blocks.get(source) if source is not None else None
        if block is None or block.kind == "tool_use":
            raise MalformedToolCall(
                "a passthrough delta must belong to a started block that is not a tool_use"
            )
        if self._open is not None and self._open.source == source:
            return [_at(raw, self._open.index)]
        out = self._begin(source, block.kind, block.start)
        assert self._open is not None
        out.append(_at(raw, self._open.index))
        return out
