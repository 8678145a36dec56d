"""The text a Responses stream event or a whole response carries, for a door to record and show.

Answer text (`output_text` and `refusal`) and reasoning summaries count; arguments do not (the
records keep the calls themselves). Only deltas count in a stream, so the done events that repeat
the text are not read twice.
"""

from __future__ import annotations

from luthien_proxy.dialects.openai_responses.shapes import (
    TEXT_DELTAS,
    Json,
    json_list,
    json_object,
    text_of,
)

_REASONING_DELTAS = frozenset(("response.reasoning_summary_text.delta", "response.reasoning_text.delta"))


def frame_text(frame: Json) -> str:
    """The text one stream event carries to the client ("" for any but a text or reasoning delta)."""
    kind = frame.get("type")
    if kind in TEXT_DELTAS or kind in _REASONING_DELTAS:
        delta = frame.get("delta")
        return delta if isinstance(delta, str) else ""
    return ""


def item_text(item: object) -> str:
    """An output item's readable text: a message's text and refusal parts, a reasoning item's summary."""
    fields = json_object(item)
    if fields is None:
        return ""
    pieces: list[str] = []
    for key in ("content", "summary"):
        for part in json_list(fields.get(key)) or ():
            entry = json_object(part)
            text = text_of(entry) if entry is not None else None
            if text is None and entry is not None and entry.get("type") == "summary_text":
                value = entry.get("text")
                text = value if isinstance(value, str) else None
            if text:
                pieces.append(text)
    return "\n".join(pieces)


def response_text(body: Json) -> str:
    """The text of a whole response: every output item's, one per line."""
    return "\n".join(text for item in json_list(body.get("output")) or () if (text := item_text(item)))
