"""What a client would run from a chat completion, and an independent test for the dangerous call."""

from __future__ import annotations

import json
import shlex
from collections.abc import AsyncIterable

from openai.types.chat import ChatCompletion, ChatCompletionChunk


def is_root_delete(arguments: str) -> bool:
    """Independently of the rules' regex: would a shell run `rm` recursively on `/` here?"""
    try:
        command = json.loads(arguments).get("command", "")
    except (json.JSONDecodeError, AttributeError):
        command = arguments
    for segment in str(command).replace("&&", ";").replace("|", ";").split(";"):
        try:
            words = shlex.split(segment)
        except ValueError:
            words = segment.split()
        if "rm" in [w.rsplit("/", 1)[-1] for w in words]:
            flags = [w for w in words if w.startswith("-")]
            recursive = any(
                f == "--recursive" or (not f.startswith("--") and "r" in f.lower()) for f in flags
            )
            if recursive and any(w and set(w) <= {"/", "*"} and "/" in w for w in words):
                return True
    return False


def client_calls(completion: ChatCompletion) -> list[tuple[int, str, str]]:
    """(choice, name, arguments) of every call a client would run: tool calls and legacy ones."""
    found = []
    for choice in completion.choices:
        message = choice.message
        for call in message.tool_calls or ():
            function = getattr(call, "function", None)
            if function is not None:
                found.append((choice.index, function.name, function.arguments))
        if message.function_call is not None:
            found.append((choice.index, message.function_call.name, message.function_call.arguments))
    return found


async def streamed_calls(stream: AsyncIterable[ChatCompletionChunk]) -> tuple[list[tuple[str, str]], str]:
    """What a client assembles from a chat stream: (name, raw arguments) of each tool call, in index
    order, and the text."""
    calls: dict[int, list[str]] = {}
    text = ""
    async for chunk in stream:
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for call in choice.delta.tool_calls or ():
                parts = calls.setdefault(call.index, ["", ""])
                parts[0] += (call.function and call.function.name) or ""
                parts[1] += (call.function and call.function.arguments) or ""
    return [(name, arguments) for _, (name, arguments) in sorted(calls.items())], text
