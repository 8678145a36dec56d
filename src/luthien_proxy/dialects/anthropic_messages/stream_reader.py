"""Reads an Anthropic Messages stream into neutral events, holding every `tool_use` block whole.

The model is the adversary: every frame is checked against the stream's grammar. Text deltas pass
at once as `TextDelta`s; a `tool_use` block's start and every `input_json_delta` are held until its
`content_block_stop`, then the input is parsed strictly and one `ToolCallEvent` is emitted. Thinking,
signature and citation deltas, server tool blocks, pings and unknown events pass as `Passthrough`
(a thinking block's signature covers its text: no policy may edit it).

Fail-closed: a frame that breaks the grammar — content before `message_start` or after
`message_stop`, a delta for a block never started or already stopped, a block started twice, a
text delta inside a `tool_use`, content in `message_start`, a `tool_use` still open at
`message_delta`, `message_stop` or the end of the stream, invalid or oversized input, two calls
with one id — raises `MalformedToolCall`, and nothing of a held call has reached the client. An
`error` event passes through; a call still open then is dropped unsent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.dialects.anthropic_messages.blocks import input_arguments, string_field
from luthien_proxy.dialects.anthropic_messages.response import MAX_CALLS
from luthien_proxy.dialects.json_values import Json, json_object
from luthien_proxy.model import (
    MalformedToolCall,
    Passthrough,
    Stop,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    canonical_arguments,
)

#: A block index at or above this is refused; one stream's held calls may not exceed this many characters.
MAX_BLOCKS = 4096
MAX_ARGUMENT_CHARS = 4_000_000
#: The events that belong inside a message: refused before `message_start` and after `message_stop`.
_IN_MESSAGE = frozenset(
    ("content_block_start", "content_block_delta", "content_block_stop", "message_delta", "message_stop")
)


@dataclass
class Block:
    """One content block of the model's stream, as started."""

    kind: str
    start: Json  # its `content_block_start` frame (a text start's text moved into a delta)
    open: bool = True
    fragments: list[str] = field(default_factory=list[str])


def _index(frame: Json) -> int:
    index = frame.get("index")
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_BLOCKS:
        raise MalformedToolCall(f"a block index must be an integer in 0..{MAX_BLOCKS - 1}, got {index!r}")
    return index


class StreamReader:
    """Feed it every frame; it returns the events that may reach the policy now."""

    def __init__(self) -> None:
        self.blocks: dict[int, Block] = {}
        #: The model's `message_start`, and each held call's `content_block` by id (the writer
        #: copies their fields into what it writes).
        self.message_start: Json | None = None
        self.call_blocks: dict[str, Json] = {}
        self._held_chars = 0
        self._ended = False

    def feed(self, frame: Any) -> list[StreamEvent]:
        fields = json_object(frame)
        if fields is None:
            raise MalformedToolCall("a stream event must be a JSON object")
        kind = fields.get("type")
        if kind in _IN_MESSAGE and (self.message_start is None or self._ended):
            raise MalformedToolCall(
                f"{kind} outside the message (before message_start or after message_stop)"
            )
        if kind == "content_block_delta":
            return self._delta(fields)
        if kind == "content_block_start":
            return self._start(fields)
        if kind == "content_block_stop":
            return self._stop(fields)
        if kind == "message_start":
            return self._message_start(fields)
        if kind == "message_delta":
            self._no_open_call("message_delta")
            delta = json_object(fields.get("delta")) or {}
            reason = delta.get("stop_reason")
            return [Stop(0, reason if isinstance(reason, str) else None, raw=fields)]
        if kind == "message_stop":
            self._no_open_call("message_stop")
            self._ended = True
        elif kind == "error":
            for block in self.blocks.values():
                if block.kind == "tool_use":
                    block.open = False  # the model failed mid-call: the call is dropped, never sent
        return [Passthrough(fields)]

    def finish(self) -> None:
        """The stream ended: a call still open was never finished, so it is refused, not released."""
        self._no_open_call("the end of the stream")

    def _no_open_call(self, where: str) -> None:
        for index, block in self.blocks.items():
            if block.kind == "tool_use" and block.open:
                raise MalformedToolCall(f"tool_use block {index} never stopped before {where}")

    def _message_start(self, frame: Json) -> list[StreamEvent]:
        if self.message_start is not None:
            raise MalformedToolCall("a stream has one message_start")
        message = json_object(frame.get("message"))
        if message is None:
            raise MalformedToolCall("message_start must carry a message object")
        # A client starts its message from this one: content here would bypass the blocks' checks.
        if message.get("content") not in (None, []):
            raise MalformedToolCall("message_start may not carry content")
        self.message_start = frame
        return [Passthrough(frame)]

    def _start(self, frame: Json) -> list[StreamEvent]:
        index = _index(frame)
        if index in self.blocks:
            raise MalformedToolCall(f"content block {index} started twice")
        content = json_object(frame.get("content_block"))
        kind = content.get("type") if content is not None else None
        if content is None or not isinstance(kind, str):
            raise MalformedToolCall(f"content block {index}: content_block must be an object with a type")
        if kind == "tool_use":
            return self._start_call(index, frame, content)
        text = content.get("text")
        if kind == "text" and text not in (None, ""):
            # Text in a start would reach the client unread by the policy: it becomes a delta.
            if not isinstance(text, str):
                raise MalformedToolCall(f"text block {index}: text must be a string")
            start = {**frame, "content_block": {**content, "text": ""}}
            self.blocks[index] = Block(kind, start)
            delta = {
                "type": "content_block_delta",
                "index": index,
                "delta": {"type": "text_delta", "text": text},
            }
            return [Passthrough(start), TextDelta(text, 0, "text", raw=delta, original=text)]
        self.blocks[index] = Block(kind, frame)
        return [Passthrough(frame)]

    def _start_call(self, index: int, frame: Json, content: Json) -> list[StreamEvent]:
        what = f"tool_use block {index}"
        call_id = string_field(content, "id", what) or f"toolu_luthien_{index}"
        if call_id in self.call_blocks:
            raise MalformedToolCall(f"two tool_use blocks share the id {call_id!r}")
        if len(self.call_blocks) >= MAX_CALLS:
            raise MalformedToolCall(f"a stream may propose at most {MAX_CALLS} tool calls")
        self._hold(len(call_id) + len(string_field(content, "name", what)))
        block = Block("tool_use", frame)
        if content.get("input") not in (None, {}):
            block.fragments.append(input_arguments(content.get("input"), what))
        self.blocks[index] = block
        self.call_blocks[call_id] = {**content, "id": call_id}
        return []

    def _hold(self, chars: int) -> None:
        # Every fragment counts at least one: the limit bounds the memory a stream can make us hold.
        self._held_chars += chars + 1
        if self._held_chars > MAX_ARGUMENT_CHARS:
            raise MalformedToolCall(f"tool calls exceed {MAX_ARGUMENT_CHARS} characters")

    def _open_block(self, frame: Json, what: str) -> tuple[int, Block]:
        index = _index(frame)
        block = self.blocks.get(index)
        if block is None:
            raise MalformedToolCall(f"{what} for content block {index}, which never started")
        if not block.open:
            raise MalformedToolCall(f"{what} for content block {index} after its stop")
        return index, block

    def _delta(self, frame: Json) -> list[StreamEvent]:
        index, block = self._open_block(frame, "a delta")
        delta = json_object(frame.get("delta"))
        kind = delta.get("type") if delta is not None else None
        if delta is None or not isinstance(kind, str):
            raise MalformedToolCall(f"content block {index}: delta must be an object with a type")
        if block.kind == "tool_use":
            partial = delta.get("partial_json")
            if kind != "input_json_delta" or not isinstance(partial, str):
                raise MalformedToolCall(f"tool_use block {index} may carry only input_json_delta strings")
            if _started_with_input(block):
                raise MalformedToolCall(f"tool_use block {index} has an input and input_json_delta")
            self._hold(len(partial))
            block.fragments.append(partial)
            return []
        if kind == "text_delta":
            text = delta.get("text")
            if block.kind != "text" or not isinstance(text, str):
                raise MalformedToolCall(
                    f"content block {index}: a text_delta needs a text block and a string"
                )
            return [TextDelta(text, 0, "text", raw=frame, original=text)]
        return [Passthrough(frame)]

    def _stop(self, frame: Json) -> list[StreamEvent]:
        index, block = self._open_block(frame, "content_block_stop")
        block.open = False
        if block.kind != "tool_use":
            return [Passthrough(frame)]
        content = json_object(block.start.get("content_block")) or {}
        call_id = string_field(content, "id", "") or f"toolu_luthien_{index}"
        name = string_field(content, "name", "")
        arguments = canonical_arguments("".join(block.fragments))
        return [ToolCallEvent(ToolCall(call_id, name, arguments))]


def _started_with_input(block: Block) -> bool:
    content = json_object(block.start.get("content_block")) or {}
    return content.get("input") not in (None, {})
