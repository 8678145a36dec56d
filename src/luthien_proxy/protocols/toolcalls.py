"""Tool calls in OpenAI shapes: read them from responses, assemble them from stream deltas, emit them."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ToolCall:
    """One complete function call the model proposed."""

    id: str
    name: str
    arguments: str

    def summary(self) -> dict[str, str]:
        """The call as recorded in decisions."""
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    def parsed_arguments(self) -> Any:
        """The arguments as JSON when they parse, else the raw string."""
        try:
            return json.loads(self.arguments)
        except json.JSONDecodeError:
            return self.arguments

    def openai(self) -> dict[str, Any]:
        """The call as a `message.tool_calls` entry."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass(frozen=True)
class Outcome:
    """What replaces the proposed calls: the calls to release (maybe edited) and text to add."""

    tool_calls: list[ToolCall] = field(default_factory=list)
    text: str | None = None


def calls_from_message(message: dict[str, Any]) -> list[ToolCall]:
    """The function calls of a chat-completion message."""
    calls = []
    for index, entry in enumerate(message.get("tool_calls") or ()):
        function = entry.get("function") or {} if isinstance(entry, dict) else {}
        calls.append(
            ToolCall(
                id=str(entry.get("id") or f"call_{index}"),
                name=str(function.get("name") or ""),
                arguments=str(function.get("arguments") or ""),
            )
        )
    return calls


def response_calls(response: dict[str, Any]) -> list[ToolCall]:
    """The function calls of the first choice of a chat completion."""
    for choice in response.get("choices") or ():
        return calls_from_message(choice.get("message") or {})
    return []


def apply_to_response(response: dict[str, Any], outcome: Outcome) -> dict[str, Any]:
    """A copy of `response` with its first choice's calls replaced by `outcome`."""
    result = copy.deepcopy(response)
    for choice in (result.get("choices") or ())[:1]:
        message = choice.setdefault("message", {"role": "assistant"})
        if outcome.tool_calls:
            message["tool_calls"] = [call.openai() for call in outcome.tool_calls]
        else:
            message.pop("tool_calls", None)
        if outcome.text is not None:
            existing = message.get("content")
            message["content"] = f"{existing}\n{outcome.text}" if existing else outcome.text
        choice["finish_reason"] = "tool_calls" if outcome.tool_calls else "stop"
    return result


@dataclass
class _Partial:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class CallAssembler:
    """Accumulates streamed tool-call deltas (keyed by `index`) into complete calls."""

    def __init__(self) -> None:
        self._parts: dict[int, _Partial] = {}

    def __bool__(self) -> bool:
        return bool(self._parts)

    def add(self, deltas: list[Any]) -> None:
        for delta in deltas:
            if not isinstance(delta, dict):
                continue
            index = delta.get("index", 0)
            part = self._parts.setdefault(index if isinstance(index, int) else 0, _Partial())
            part.id = part.id or str(delta.get("id") or "")
            function = delta.get("function") or {}
            part.name = part.name or str(function.get("name") or "")
            if isinstance(function.get("arguments"), str):
                part.arguments.append(function["arguments"])

    def calls(self) -> list[ToolCall]:
        return [
            ToolCall(id=part.id or f"call_{index}", name=part.name, arguments="".join(part.arguments))
            for index, part in sorted(self._parts.items())
        ]


def _shell(template: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in template.items() if k not in ("choices", "usage")}


def call_chunk(template: dict[str, Any], calls: list[ToolCall]) -> dict[str, Any]:
    """One chunk carrying `calls` complete, re-indexed from 0."""
    deltas = [{"index": i, **call.openai()} for i, call in enumerate(calls)]
    return {
        **_shell(template),
        "choices": [{"index": 0, "delta": {"tool_calls": deltas}, "finish_reason": None}],
    }


def text_chunk(template: dict[str, Any], text: str) -> dict[str, Any]:
    """One content chunk shaped like `template`."""
    return {**_shell(template), "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}]}


def finish_chunk(template: dict[str, Any], finish_reason: str) -> dict[str, Any]:
    """The closing chunk with `finish_reason`."""
    return {**_shell(template), "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}]}
