"""The client APIs the benchmark speaks, OpenAI chat, Anthropic Messages and OpenAI Responses: where a
request goes, its headers and body, and how an answer's text is read and checked to the last byte."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from luthien_proxy.tooling.bench import responses_api
from luthien_proxy.tooling.bench.answer_check import (
    Call,
    Invalid,
    StreamCheck,
    StreamedCalls,
    decoded_arguments,
    short,
    sse_json,
)

OPENAI = "openai"
ANTHROPIC = "anthropic"
RESPONSES = "responses"
ANTHROPIC_VERSION = "2023-06-01"
#: Anthropic requires `max_tokens`; the demo upstream ignores it, so any value above the answer's size.
MAX_TOKENS = 1024


@dataclass(frozen=True)
class Api:
    """One client API: path, headers for a key, its request fields, answer readers."""

    name: str
    label: str
    path: str
    auth: Callable[[str], dict[str, str]]
    #: A neutral payload (model, messages, tools, stream knobs) as this API's request fields.
    shape: Callable[[dict[str, Any]], dict[str, Any]]
    #: A whole answer's text and tool calls (raises `Invalid` for a malformed or unfinished one).
    completion: Callable[[Any], tuple[str, list[Call]]]
    stream_check: Callable[[], StreamCheck]

    def body(self, payload: dict[str, Any]) -> bytes:
        """The JSON body of a neutral `payload` in this API."""
        return orjson.dumps(self.shape(payload))


def _openai_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """A neutral payload as chat fields: each tool as `{"type": "function", "function": ...}`."""
    if "tools" not in payload:
        return payload
    return {**payload, "tools": [{"type": "function", "function": t} for t in payload["tools"]]}


def _openai_completion(completion: Any) -> tuple[str, list[Call]]:
    choice = completion["choices"][0]
    message = choice["message"]
    calls = [
        (c["function"]["name"], decoded_arguments(c["function"]["name"], c["function"]["arguments"]))
        for c in message.get("tool_calls") or ()
    ]
    if calls and choice.get("finish_reason") != "tool_calls":
        raise Invalid(short(f"tool calls with finish_reason {choice.get('finish_reason')!r}"))
    return message.get("content") or "", calls


class OpenAIStream:
    """`data:` chunks with `choices[0].delta.content` or `.tool_calls` fragments, then `data: [DONE]`
    and nothing after it."""

    def __init__(self) -> None:
        self.done = False
        self.streamed = StreamedCalls()

    def feed(self, event: bytes) -> str:
        text = ""
        for line in event.split(b"\n"):
            if not line.startswith(b"data:"):
                continue  # comments, event names, ids
            if self.done:
                raise Invalid("data after [DONE]")
            payload = line[5:].strip()
            if payload == b"[DONE]":
                self.done = True
                continue
            chunk = sse_json(payload)
            if not isinstance(chunk, dict):
                raise Invalid(short(f"SSE data is not an object: {payload!r}"))
            if "error" in chunk:
                raise Invalid(short(f"error event: {orjson.dumps(chunk['error']).decode()}"))
            choices = chunk.get("choices") or []
            if choices:  # else a usage-only chunk
                delta = choices[0].get("delta") or {}
                content = delta.get("content")
                text += content if isinstance(content, str) else ""
                for call in delta.get("tool_calls") or ():
                    self._call(call)
        return text

    def _call(self, call: Any) -> None:
        function = call.get("function") or {}
        index = call.get("index")
        if index not in self.streamed.names:
            self.streamed.start(index, function.get("name"))
            if function.get("arguments"):
                self.streamed.add(index, function["arguments"])
        else:
            self.streamed.add(index, function.get("arguments", ""))

    def finish(self, chunks: int) -> None:
        if not self.done:
            raise Invalid(f"stream ended without [DONE] after {chunks} content chunks")


def _anthropic_fields(payload: dict[str, Any]) -> dict[str, Any]:
    """A neutral payload as Messages fields: `max_tokens`, and each tool's schema as `input_schema`."""
    fields = {**payload, "max_tokens": MAX_TOKENS}
    if "tools" in payload:
        fields["tools"] = [
            {"name": t["name"], "description": t["description"], "input_schema": t["parameters"]}
            for t in payload["tools"]
        ]
    return fields


def _anthropic_completion(message: Any) -> tuple[str, list[Call]]:
    calls = [(b["name"], b["input"]) for b in message["content"] if b.get("type") == "tool_use"]
    stop = "tool_use" if calls else "end_turn"
    if message.get("type") != "message" or message.get("stop_reason") != stop:
        raise Invalid(short(f"not a finished message: {orjson.dumps(message).decode()}"))
    return "".join(b["text"] for b in message["content"] if b.get("type") == "text"), calls


class AnthropicStream:
    """`event: <type>` + `data: {"type": <type>, ...}` per event: `message_start` first, blocks opened
    and closed one by one, `text_delta`s inside a text block and `input_json_delta`s inside a
    tool_use block, `message_delta` (stop reason `tool_use` after a call, else `end_turn`), then
    `message_stop`."""

    def __init__(self) -> None:
        self.started = False
        self.stop_reason: str | None = None
        self.open: dict[int, str] = {}  # index -> block type
        self.stopped = False
        self.streamed = StreamedCalls()

    def feed(self, event: bytes) -> str:
        name, data = b"", b""
        for line in event.split(b"\n"):
            if line.startswith(b"event:"):
                name = line[6:].strip()
            elif line.startswith(b"data:"):
                data = line[5:].strip()
        if not data:
            return ""  # a comment-only event
        value = sse_json(data)
        kind = value.get("type") if isinstance(value, dict) else None
        if not isinstance(kind, str) or name.decode() != kind:
            raise Invalid(short(f"event line {name!r} does not name the data's type: {data!r}"))
        if kind == "error":
            raise Invalid(short(f"error event: {orjson.dumps(value.get('error')).decode()}"))
        if self.stopped:
            raise Invalid(f"{kind} after message_stop")
        if kind != "message_start" and not self.started and kind != "ping":
            raise Invalid(f"{kind} before message_start")
        return self._step(kind, value)

    def _step(self, kind: str, value: dict[str, Any]) -> str:
        index = value.get("index")
        if kind == "message_start":
            if self.started:
                raise Invalid("a second message_start")
            self.started = True
        elif kind == "content_block_start":
            if self.open or not isinstance(index, int):
                raise Invalid(f"content_block_start {index!r} while {sorted(self.open)} open")
            block = value["content_block"]
            self.open[index] = block["type"]
            if block["type"] == "tool_use":
                self.streamed.start(index, block.get("name"))
        elif kind == "content_block_delta":
            delta = value["delta"]
            if index not in self.open:
                raise Invalid(f"delta for block {index!r}, which is not open")
            if delta.get("type") == "text_delta" and self.open[index] == "text":
                return delta["text"]
            if delta.get("type") == "input_json_delta" and self.open[index] == "tool_use":
                self.streamed.add(index, delta.get("partial_json"))
        elif kind == "content_block_stop":
            if not isinstance(index, int) or self.open.pop(index, None) is None:
                raise Invalid(f"content_block_stop {index!r} for a block not open")
        elif kind == "message_delta":
            self.stop_reason = value["delta"].get("stop_reason")
        elif kind == "message_stop":
            self.stopped = True
        return ""

    def finish(self, chunks: int) -> None:
        if not self.stopped:
            raise Invalid(f"stream ended without message_stop after {chunks} content chunks")
        if self.open or self.stop_reason != ("tool_use" if self.streamed.names else "end_turn"):
            raise Invalid(f"stream stopped with blocks {sorted(self.open)} open, stop {self.stop_reason!r}")


def _bearer(key: str) -> dict[str, str]:
    return {"authorization": f"Bearer {key}"}


APIS: dict[str, Api] = {
    OPENAI: Api(
        OPENAI,
        "OpenAI chat",
        "/v1/chat/completions",
        _bearer,
        _openai_fields,
        _openai_completion,
        OpenAIStream,
    ),
    ANTHROPIC: Api(
        ANTHROPIC,
        "Anthropic Messages",
        "/v1/messages",
        lambda key: {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION},
        _anthropic_fields,
        _anthropic_completion,
        AnthropicStream,
    ),
    RESPONSES: Api(
        RESPONSES,
        "OpenAI Responses",
        "/v1/responses",
        _bearer,
        responses_api.request_fields,
        responses_api.completion,
        responses_api.ResponsesStream,
    ),
}
