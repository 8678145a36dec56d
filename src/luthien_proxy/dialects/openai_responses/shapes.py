"""The Responses API's shapes the codec reads, and helpers that narrow wire JSON without trusting it.

Item types, stream event types, which content parts hold text (and under which key), and the
limits past which a model's output is refused rather than judged.
"""

from __future__ import annotations

from typing import Any, cast

from luthien_proxy.model import CallKind, MalformedToolCall

Json = dict[str, Any]

#: The call items a `ToolCall` carries: their kind, the key holding the arguments, and the stream
#: events that carry those arguments (delta, done).
CALL_ITEMS: dict[str, tuple[CallKind, str, str, str]] = {
    "function_call": (
        "function",
        "arguments",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
    ),
    "custom_tool_call": (
        "custom",
        "input",
        "response.custom_tool_call_input.delta",
        "response.custom_tool_call_input.done",
    ),
}
CALL_EVENTS = frozenset(event for _, _, *events in CALL_ITEMS.values() for event in events)
#: Items a client runs that no `ToolCall` can carry: in model output they are refused, never passed.
UNJUDGEABLE_CALLS = frozenset(("local_shell_call", "shell_call", "apply_patch_call", "computer_call"))
#: Content part types that hold text, and the key the text is under.
TEXT_KEYS = {"output_text": "text", "input_text": "text", "refusal": "refusal"}
#: The model-text parts of an output message: their delta and done events.
TEXT_DELTAS = {"response.output_text.delta": "output_text", "response.refusal.delta": "refusal"}
TEXT_DONES = {"response.output_text.done": "output_text", "response.refusal.done": "refusal"}
DELTA_OF = {kind: event for event, kind in TEXT_DELTAS.items()}
DONE_OF = {kind: event for event, kind in TEXT_DONES.items()}
#: Events carrying the response object before its output is complete, and the ones that end it.
OPENING = frozenset(("response.created", "response.queued", "response.in_progress"))
ENDING = frozenset(("response.completed", "response.incomplete", "response.failed"))
ITEM_ADDED = "response.output_item.added"
ITEM_DONE = "response.output_item.done"
PART_ADDED = "response.content_part.added"
PART_DONE = "response.content_part.done"

#: An output or content index at or above this is refused; so are more calls than `MAX_CALLS`,
#: and held arguments past `MAX_ARGUMENT_CHARS` characters in one stream.
MAX_INDEX = 4096
MAX_CALLS = 128
MAX_ARGUMENT_CHARS = 4_000_000


def json_object(value: Any) -> Json | None:
    """`value` when it is a JSON object, else None."""
    return cast("Json", value) if isinstance(value, dict) else None


def json_list(value: Any) -> list[Any] | None:
    """`value` when it is a JSON array, else None."""
    return cast("list[Any]", value) if isinstance(value, list) else None


def string_field(fields: Json, key: str, what: str) -> str:
    """`fields[key]` when it is a string, "" when absent; anything else is refused."""
    value = fields.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedToolCall(f"{what}: {key} must be a string, got {type(value).__name__}")
    return value


def index_field(frame: Json, key: str) -> int:
    """`frame[key]` as an index in 0..MAX_INDEX-1; anything else is refused."""
    index = frame.get(key)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_INDEX:
        raise MalformedToolCall(f"{key} must be an integer in 0..{MAX_INDEX - 1}, got {index!r}")
    return index


def item_type(item: Json) -> str:
    """An item's `type`; an input item without one but with a `role` is a message (the SDK's easy form)."""
    kind = item.get("type")
    if isinstance(kind, str):
        return kind
    return "message" if kind is None and "role" in item else ""


def text_of(part: Json) -> str | None:
    """The text a content part holds under its type's key, or None when it holds none."""
    kind = part.get("type")
    key = TEXT_KEYS.get(kind) if isinstance(kind, str) else None
    value = part.get(key) if key is not None else None
    return value if isinstance(value, str) else None
