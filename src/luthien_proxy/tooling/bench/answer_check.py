"""What every API's answer check shares: the error a wrong answer raises, the stream-check protocol,
and reading an SSE data line's JSON (kept apart so each API's checks can live in their own module)."""

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
