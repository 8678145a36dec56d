"""The benchmark's OpenAI Responses API (`POST /v1/responses`, Codex CLI's only API): the request's
fields, and the checks of a Response and of its SSE events to the last one (a figure taken from a
broken answer would be worthless)."""

from __future__ import annotations

from typing import Any

import orjson

from luthien_proxy.tooling.bench.answer_check import (
    Call,
    Invalid,
    StreamedCalls,
    decoded_arguments,
    short,
    sse_json,
)

#: Events that end a Responses stream other than `response.completed`: each fails the request.
_FAILED = ("response.failed", "response.incomplete", "error")


def request_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """A neutral payload as a Responses request: its messages as `input` message items, each tool as
    `{"type": "function", "name": ...}`, and `store: false` as Codex sends (every request stands alone)."""
    fields = {k: v for k, v in payload.items() if k != "messages"}
    items = [{"type": "message", "role": m["role"], "content": m["content"]} for m in payload["messages"]]
    if "tools" in payload:
        fields["tools"] = [{"type": "function", **t} for t in payload["tools"]]
    return {**fields, "input": items, "store": False}


def _output(response: Any, what: str) -> tuple[str, list[Call]]:
    """A completed Response's output: its message items' `output_text`, and its function calls, in order."""
    if not isinstance(response, dict) or response.get("status") != "completed":
        raise Invalid(short(f"not a completed {what}: {orjson.dumps(response).decode()}"))
    output = response.get("output")
    if not isinstance(output, list) or any(i.get("type") not in ("message", "function_call") for i in output):
        raise Invalid(short(f"{what} output is not messages and calls: {orjson.dumps(output).decode()}"))
    messages = [i for i in output if i["type"] == "message"]
    text = "".join(p["text"] for i in messages for p in i["content"] if p.get("type") == "output_text")
    calls = [
        (i["name"], decoded_arguments(i["name"], i["arguments"])) for i in output if i["type"] != "message"
    ]
    return text, calls


def completion(response: Any) -> tuple[str, list[Call]]:
    """The answer text and tool calls of a non-streamed Response."""
    if response.get("object") != "response":
        raise Invalid(short(f"not a response: {orjson.dumps(response).decode()}"))
    return _output(response, "response")


class ResponsesStream:
    """`event: <type>` + `data: {"type": <type>, "sequence_number": n, ...}` per event, numbered upward:
    `response.created` first, items added and done one at a time at output_index 0..n, text deltas
    only inside an open part, function-call arguments only inside an open call, each done event
    holding what was streamed, and `response.completed` last, whose output is what was streamed."""

    def __init__(self) -> None:
        self.started = False
        self.completed = False
        self.sequence = -1
        self.items = 0  # output items added so far
        self.item: str | None = None  # the open item's id
        self.part: tuple[str, int] | None = None  # (item id, content index) of the open text part
        self.part_text = ""
        self.item_text = ""
        self.text = ""  # everything streamed
        self.streamed = StreamedCalls()

    def feed(self, event: bytes) -> str:
        name, data = b"", b""
        for line in event.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip()
            elif line.startswith(b"data:"):
                data = line[5:].strip()
        if not data:
            return ""  # a comment-only event (the door's keepalive)
        value = sse_json(data)
        kind = value.get("type") if isinstance(value, dict) else None
        if not isinstance(kind, str) or name.decode() != kind:
            raise Invalid(short(f"event line {name!r} does not name the data's type: {data!r}"))
        if kind in _FAILED:
            raise Invalid(short(f"{kind} event: {data!r}"))
        if self.completed:
            raise Invalid(f"{kind} after response.completed")
        number = value.get("sequence_number")
        if not isinstance(number, int) or number <= self.sequence:
            raise Invalid(f"{kind} has sequence_number {number!r} after {self.sequence}")
        self.sequence = number
        if (kind == "response.created") == self.started:
            raise Invalid("a second response.created" if self.started else f"{kind} before response.created")
        self.started = True
        return self._step(kind, value)

    def _step(self, kind: str, value: dict[str, Any]) -> str:
        if kind == "response.output_item.added":
            if self.item is not None or value.get("output_index") != self.items:
                raise Invalid(
                    f"item added at {value.get('output_index')!r} with {self.items} added, open {self.item}"
                )
            self.item, self.item_text = value["item"]["id"], ""
            self.items += 1
            if value["item"].get("type") == "function_call":
                self.streamed.start(self.item, value["item"].get("name"))
        elif kind == "response.function_call_arguments.delta":
            self._in_open_call(kind, value)
            self.streamed.add(self.item, value.get("delta"))
        elif kind == "response.function_call_arguments.done":
            self._in_open_call(kind, value)
            self._holds(kind, value.get("arguments"), self.streamed.arguments[self.item])
        elif kind == "response.content_part.added":
            self._in_open_item(kind, value)
            self.part, self.part_text = (value["item_id"], value["content_index"]), ""
        elif kind == "response.output_text.delta":
            self._in_open_part(kind, value)
            delta: str = value["delta"]
            self.part_text += delta
            self.item_text += delta
            self.text += delta
            return delta
        elif kind == "response.output_text.done":
            self._in_open_part(kind, value)
            self._holds(kind, value["text"], self.part_text)
        elif kind == "response.content_part.done":
            self._in_open_part(kind, value)
            self._holds(kind, value["part"]["text"], self.part_text)
            self.part = None
        elif kind == "response.output_item.done":
            self._in_open_item(kind, value)
            if self.part is not None:
                raise Invalid(f"item {self.item} done with part {self.part} open")
            item = value["item"]
            if item.get("type") == "function_call":
                self._holds(kind, item.get("arguments"), self.streamed.arguments[self.item])
            else:
                text = "".join(p["text"] for p in item.get("content", []) if p.get("type") == "output_text")
                self._holds(kind, text, self.item_text)
            self.item = None
        elif kind == "response.completed":
            output = value["response"].get("output")
            if isinstance(output, list) and len(output) != self.items:
                raise Invalid(f"response.completed holds {len(output)} items, {self.items} were streamed")
            text, calls = _output(value["response"], "response.completed")
            if calls != self.streamed.calls():
                raise Invalid(
                    short(f"{kind} holds calls {calls!r}, the stream sent {self.streamed.calls()!r}")
                )
            self._holds(kind, text, self.text)
            self.completed = True
        return ""

    def _in_open_item(self, kind: str, value: dict[str, Any]) -> None:
        item_id = value.get("item_id", (value.get("item") or {}).get("id"))
        if self.item is None or item_id != self.item or value.get("output_index") != self.items - 1:
            raise Invalid(f"{kind} for item {item_id!r}, open {self.item!r}")

    def _in_open_call(self, kind: str, value: dict[str, Any]) -> None:
        self._in_open_item(kind, value)
        if self.item not in self.streamed.names:
            raise Invalid(f"{kind} for item {self.item!r}, which is not a function call")

    def _in_open_part(self, kind: str, value: dict[str, Any]) -> None:
        self._in_open_item(kind, value)
        if self.part != (value["item_id"], value.get("content_index")):
            raise Invalid(
                f"{kind} for part {value.get('content_index')!r} of {value['item_id']}, open {self.part}"
            )

    @staticmethod
    def _holds(kind: str, text: Any, streamed: str) -> None:
        if text != streamed:
            raise Invalid(short(f"{kind} holds {text!r}, the stream sent {streamed!r}"))

    def finish(self, chunks: int) -> None:
        if not self.completed:
            raise Invalid(f"stream ended without response.completed after {chunks} content chunks")
