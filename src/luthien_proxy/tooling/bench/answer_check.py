"""What every API's answer check shares: the error a wrong answer raises, the stream-check protocol,
streamed tool calls assembled, and reading an SSE data line's JSON (kept apart so each API's checks
can live in their own module)."""

from __future__ import annotations

from typing import Any, Protocol

import orjson

_ERROR_TEXT_MAX = 160


class Invalid(Exception):
    """The answer arrived but is wrong."""


def short(value: object) -> str:
    """`value` as text cut to a length an error table can show."""
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= _ERROR_TEXT_MAX else text[:_ERROR_TEXT_MAX] + "..."


def sse_json(payload: bytes) -> Any:
    """The JSON of an SSE data line; `Invalid` when it does not parse."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise Invalid(short(f"unparsable SSE data {payload!r}")) from exc


class StreamCheck(Protocol):
    """Reads one stream's SSE events in order and checks the stream is whole."""

    def feed(self, event: bytes) -> str:
        """The content text `event` carries ("" for none); raises `Invalid` for a wrong event."""
        ...

    def finish(self, chunks: int) -> None:
        """Raise `Invalid` unless the stream ended as it must (after `chunks` content chunks)."""
        ...

    @property
    def streamed(self) -> StreamedCalls:
        """The tool calls streamed so far (`fragments` counts the events that carried them)."""
        ...


#: A tool call as the client sees it: the tool's name and its decoded arguments.
Call = tuple[str, Any]


def decoded_arguments(name: str, text: Any) -> Any:
    """A tool call's argument JSON text, decoded; `Invalid` when it is not JSON."""
    if not isinstance(text, str):
        raise Invalid(short(f"call of {name} has arguments {text!r}, not JSON text"))
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise Invalid(short(f"call of {name} has unparsable arguments {text!r}")) from exc


class StreamedCalls:
    """The tool calls a stream carries, assembled from their fragments (keyed by the stream's index)."""

    def __init__(self) -> None:
        self.names: dict[Any, str] = {}
        self.arguments: dict[Any, str] = {}
        self.fragments = 0  # events that carried part of a call

    def start(self, key: Any, name: Any) -> None:
        if key in self.names:
            raise Invalid(f"a second start of tool call {key!r}")
        if not isinstance(name, str) or not name:
            raise Invalid(short(f"tool call {key!r} started without a name: {name!r}"))
        self.names[key], self.arguments[key] = name, ""
        self.fragments += 1

    def add(self, key: Any, fragment: Any) -> None:
        if key not in self.names:
            raise Invalid(f"arguments for tool call {key!r}, which was not started")
        if not isinstance(fragment, str):
            raise Invalid(short(f"argument fragment {fragment!r} is not text"))
        self.arguments[key] += fragment
        self.fragments += 1

    def calls(self) -> list[Call]:
        return [(name, decoded_arguments(name, self.arguments[key])) for key, name in self.names.items()]
