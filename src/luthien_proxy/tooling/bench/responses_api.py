"""The benchmark's OpenAI Responses API (`POST /v1/responses`, Codex CLI's only API): the request's
fields, and the checks of a Response and of its SSE events to the last one (a figure taken from a
broken answer would be worthless)."""

from __future__ import annotations

from typing import Any

import orjson

from luthien_proxy.tooling.bench.answer_check import Invalid, short, sse_json

#: Events that end a Responses stream other than `response.completed`: each fails the request.
_FAILED = ("response.failed", "response.incomplete", "error")


def request_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """A neutral payload as a Responses request: its messages as `input` message items, and
    `store: false` as Codex sends (every request stands alone)."""
    fields = {k: v for k, v in payload.items() if k != "messages"}
    items = [{"type": "message", "role": m["role"], "content": m["content"]} for m in payload["messages"]]
    return {**fields, "input": items, "store": False}


def _output_text(response: Any, what: str) -> str:
    """The text of a completed Response's output: its message items' `output_text` parts, in order."""
    if not isinstance(response, dict) or response.get("status") != "completed":
        raise Invalid(short(f"not a completed {what}: {orjson.dumps(response).decode()}"))
    output = response.get("output")
    if not isinstance(output, list) or any(i.get("type") != "message" for i in output):
        raise Invalid(short(f"{what} output is not messages only: {orjson.dumps(output).decode()}"))
    return "".join(p["text"] for i in output for p in i["content"] if p.get("type") == "output_text")


def completion_text(response: Any) -> str:
    """The answer text of a non-streamed Response."""
    if response.get("object") != "response":
        raise Invalid(short(f"not a response: {orjson.dumps(response).decode()}"))
    return _output_text(response, "response")


class ResponsesStream:
    """`event: <type>` + `data: {"type": <type>, "sequence_number": n, ...}` per event, numbered upward:
    `response.created` first, items added and done one at a time at output_index 0..n, text deltas
    only inside an open part, each done event holding the text streamed, and `response.completed`
    last, whose output text is the streamed text."""

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
            text = "".join(p["text"] for p in item.get("content", []) if p.get("type") == "output_text")
            self._holds(kind, text, self.item_text)
            self.item = None
        elif kind == "response.completed":
            output = value["response"].get("output")
            if isinstance(output, list) and len(output) != self.items:
                raise Invalid(f"response.completed holds {len(output)} items, {self.items} were streamed")
            self._holds(kind, _output_text(value["response"], "response.completed"), self.text)
            self.completed = True
        return ""

    def _in_open_item(self, kind: str, value: dict[str, Any]) -> None:
        item_id = value.get("item_id", (value.get("item") or {}).get("id"))
        if self.item is None or item_id != self.item or value.get("output_index") != self.items - 1:
            raise Invalid(f"{kind} for item {item_id!r}, open {self.item!r}")

    def _in_open_part(self, kind: str, value: dict[str, Any]) -> None:
        self._in_open_item(kind, value)
        if self.part != (value["item_id"], value.get("content_index")):
            raise Invalid(
                f"{kind} for part {value.get('content_index')!r} of {value['item_id']}, open {self.part}"
            )

    @staticmethod
    def _holds(kind: str, text: str, streamed: str) -> None:
        if text != streamed:
            raise Invalid(short(f"{kind} holds {text!r}, the stream sent {streamed!r}"))

    def finish(self, chunks: int) -> None:
        if not self.completed:
            raise Invalid(f"stream ended without response.completed after {chunks} content chunks")
