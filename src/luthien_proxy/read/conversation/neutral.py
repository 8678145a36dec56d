"""A call's recorded request and response as plain JSON of typed parts (the "neutral rendering"),
decoded with the call's own dialect codec, so the UI renders every door and dialect the same.

Read side only, and cheap: each body is decoded once per view. Anything a codec cannot read gives
None (the page then shows the raw JSON), never an exception: a hostile model's output must not
take the view down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable
from typing import Any, cast

from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.model import (
    Message,
    Part,
    Reasoning,
    ReasoningDelta,
    Request,
    Response,
    Stop,
    StreamEvent,
    Text,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    ToolResult,
)

Json = dict[str, Any]
#: Roles whose leading messages are the system prompt (OpenAI chat and Responses keep it in turns).
_SYSTEM_ROLES = ("system", "developer")
#: Roles whose consecutive messages read as one turn (Responses sends each call as its own item).
_MERGED_ROLES = ("assistant", "tool")


def part_json(part: Part) -> Json:
    """One part as the UI reads it (`parts.js`)."""
    if isinstance(part, Text):
        return {"type": "text", "text": part.text}
    if isinstance(part, Reasoning):
        return {"type": "reasoning", "text": part.text}
    if isinstance(part, ToolCall):
        return {"type": "tool_call", "id": part.id, "name": part.name, "arguments": part.parsed_arguments()}
    if isinstance(part, ToolResult):
        return {
            "type": "tool_result",
            "call_id": part.call_id,
            "content": part.content,
            "is_error": part.is_error,
        }
    return {"type": "other", "raw": part.raw}


def _message_json(message: Message) -> Json:
    parts = [part_json(part) for part in message.parts]
    # A turn made only of tool results is the tool's, whoever the dialect says sent it (Anthropic
    # puts results in a user turn): so every dialect's history reads the same.
    results_only = bool(parts) and all(part["type"] == "tool_result" for part in parts)
    return {"role": "tool" if results_only else message.role, "parts": parts}


def _turns(messages: list[Message]) -> tuple[list[Json], list[Json]]:
    """The system parts that open the conversation, and its turns (consecutive assistant or tool
    turns merged)."""
    system: list[Json] = []
    turns: list[Json] = []
    for message in messages:
        if not turns and message.role in _SYSTEM_ROLES:
            system.extend(part_json(part) for part in message.parts)
            continue
        turn = _message_json(message)
        if turns and turn["role"] == turns[-1]["role"] and turn["role"] in _MERGED_ROLES:
            turns[-1]["parts"].extend(turn["parts"])
        else:
            turns.append(turn)
    return system, turns


def request_json(request: Request) -> Json:
    """A decoded request as the neutral rendering's R."""
    system, turns = _turns(request.messages)
    return {
        "model": request.model or None,
        "system": [*(part_json(part) for part in request.system), *system],
        "messages": turns,
        "tools": [
            {"name": tool.name, "description": tool.description, "parameters": tool.parameters}
            for tool in request.tools
        ],
    }


def response_json(response: Response) -> Json:
    """A decoded response as the neutral rendering's S."""
    return {
        "choices": [
            {"index": c.index, "parts": [part_json(p) for p in c.parts], "stop_reason": c.stop_reason}
            for c in response.choices
        ]
    }


def _events(dialect: Dialect, chunks: list[Json]) -> list[StreamEvent]:
    """`chunks` through a fresh stream codec of `dialect`. The decoders never wait on anything but
    the frames, which are all here, so the generator is stepped by hand (this runs inside the
    server's event loop, which cannot be re-entered)."""

    async def frames() -> AsyncIterator[Json]:
        for chunk in chunks:
            yield chunk

    decoder = dialect.stream_codec().decode(frames())
    events: list[StreamEvent] = []
    while True:
        step = cast("Coroutine[Any, Any, StreamEvent]", decoder.__anext__())
        try:
            step.send(None)
        except StopIteration as done:
            events.append(cast("StreamEvent", done.value))
            continue
        except StopAsyncIteration:
            return events
        step.close()  # it awaited something real: not a decoder this function can drive
        raise RuntimeError(f"the {dialect.name} stream decoder suspended")


def stream_json(dialect: Dialect, chunks: list[Json]) -> Json:
    """Recorded stream frames assembled into the neutral rendering's S (text deltas joined)."""
    choices: dict[int, Json] = {}

    def choice(index: int) -> Json:
        return choices.setdefault(index, {"index": index, "parts": [], "stop_reason": None})

    for event in _events(dialect, chunks):
        if isinstance(event, TextDelta | ReasoningDelta):
            kind = "text" if isinstance(event, TextDelta) else "reasoning"
            parts = choice(event.choice)["parts"]
            if parts and parts[-1]["type"] == kind:
                parts[-1]["text"] += event.text
            elif event.text:
                parts.append({"type": kind, "text": event.text})
        elif isinstance(event, ToolCallEvent):
            choice(event.call.choice)["parts"].append(part_json(event.call))
        elif isinstance(event, Stop):
            choice(event.choice)["stop_reason"] = event.reason
    return {"choices": [choices[index] for index in sorted(choices)]}


def _safely(read: Any, *args: Any) -> Json | None:
    """`read(*args)`, or None when the recorded input cannot be read. Deliberately broad: this only
    renders, and whatever a model or client sent must not break the page."""
    try:
        return cast("Json", read(*args))
    except Exception:
        return None


def neutral_request(dialect: Dialect, body: Any) -> Json | None:
    """A recorded request body as R (None when it is absent or unreadable)."""
    if not isinstance(body, dict) or not body:
        return None
    return _safely(lambda: request_json(dialect.decode_request(cast("Json", body))))


def neutral_response(dialect: Dialect, body: Any) -> Json | None:
    """A recorded (non-streamed) response body as S (None when absent or unreadable)."""
    if not isinstance(body, dict):
        return None
    return _safely(lambda: response_json(dialect.decode_response(cast("Json", body))))


def neutral_stream(dialect: Dialect, chunks: Iterable[Any]) -> Json | None:
    """Recorded stream frames as S (None when there are none, or they do not make a whole stream)."""
    frames = list(chunks)
    if not frames or not all(isinstance(frame, dict) for frame in frames):
        return None
    return _safely(stream_json, dialect, cast("list[Json]", frames))
