"""One episode through one front door with the official `openai` SDK, keeping every byte received.

The raw response bytes (the SSE frames of a stream) are what the leak check inspects; the SDK
also parses them, so a response the SDK could not read fails the episode.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from openai import OpenAI
from openai.types.chat import ChatCompletionChunk

from luthien_proxy.tooling.scenarios.episodes import Episode

TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties},
        },
    }
    for name, description, properties in (
        ("run_shell", "run a shell command", {"command": {"type": "string"}}),
        ("write_file", "write a file", {"path": {"type": "string"}, "content": {"type": "string"}}),
    )
]


@dataclass
class Delivery:
    """What the client received: raw bytes, the tool calls and text in them, timing and the call id."""

    raw: bytes
    calls: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    latency_ms: float = 0.0
    call_id: str | None = None
    error: str | None = None

    def parsed_calls(self) -> list[tuple[str, Any]]:
        out = []
        for name, arguments in self.calls:
            try:
                out.append((name, json.loads(arguments)))
            except json.JSONDecodeError:
                out.append((name, {"unparseable": arguments}))
        return out


def _stream_calls(raw: bytes) -> tuple[list[tuple[str, str]], str]:
    """Reassemble tool calls and text from raw SSE bytes (each chunk validated by the SDK's model)."""
    names: dict[int, str] = {}
    arguments: dict[int, list[str]] = {}
    text: list[str] = []
    for line in raw.split(b"\n"):
        if not line.startswith(b"data:") or line[5:].strip() == b"[DONE]":
            continue
        body = orjson.loads(line[5:].strip())
        if "error" in body:
            raise RuntimeError(f"stream error: {body['error']}")
        chunk = ChatCompletionChunk.model_validate(body)
        for choice in chunk.choices:
            text.append(choice.delta.content or "")
            for call in choice.delta.tool_calls or ():
                if call.function and call.function.name:
                    names[call.index] = call.function.name
                if call.function and call.function.arguments:
                    arguments.setdefault(call.index, []).append(call.function.arguments)
    indexes = sorted(set(names) | set(arguments))
    return [(names.get(i, ""), "".join(arguments.get(i, []))) for i in indexes], "".join(text)


def deliver(client: OpenAI, episode: Episode, stream: bool) -> Delivery:
    """Send the episode's request; never raises for an HTTP or stream error (it is recorded)."""
    messages: list[Any] = [{"role": "user", "content": episode.prompt}]
    started = time.perf_counter()
    try:
        if stream:
            with client.chat.completions.with_streaming_response.create(
                model="demo-tool", messages=messages, tools=TOOLS, stream=True
            ) as response:
                raw = b"".join(response.iter_bytes())
                call_id = response.headers.get("x-litellm-call-id")
            latency = (time.perf_counter() - started) * 1000
            calls, text = _stream_calls(raw)
            return Delivery(raw, calls, text, latency, call_id)
        response = client.chat.completions.with_raw_response.create(
            model="demo-tool", messages=messages, tools=TOOLS
        )
        latency = (time.perf_counter() - started) * 1000
        completion = response.parse()
        message = completion.choices[0].message
        calls = [
            (c.function.name, c.function.arguments) for c in message.tool_calls or () if c.type == "function"
        ]
        return Delivery(
            response.http_response.content,
            calls,
            message.content or "",
            latency,
            response.headers.get("x-litellm-call-id"),
        )
    except Exception as exc:
        return Delivery(b"", error=f"{type(exc).__name__}: {exc}"[:300])
