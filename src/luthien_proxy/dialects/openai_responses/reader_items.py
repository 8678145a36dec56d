"""The reader's view of a Responses stream's output items, and the events of a message item.

`ItemState` is one item as the model added it (a message's parts, a call's argument fragments);
`message_event` checks one event of a message against the grammar and returns what the policy
reads of it: text deltas as `TextDelta`s, done text the deltas never carried as one more delta,
every other event as a `Passthrough`. What breaks the grammar raises `MalformedToolCall`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.dialects.openai_responses.shapes import (
    CALL_ITEMS,
    DELTA_OF,
    ITEM_DONE,
    PART_ADDED,
    PART_DONE,
    TEXT_DELTAS,
    TEXT_DONES,
    TEXT_KEYS,
    UNJUDGEABLE_CALLS,
    Json,
    index_field,
    item_type,
    json_list,
    json_object,
    text_of,
)
from luthien_proxy.model import MalformedToolCall, Passthrough, StreamEvent, TextDelta


@dataclass
class PartState:
    """One content part of a message, as added (its text moved into a delta)."""

    kind: str
    added: Json  # a `response.content_part.added` event
    text: list[str] = field(default_factory=list[str])
    text_done: bool = False
    open: bool = True


@dataclass
class ItemState:
    """One output item of the model's stream, as added."""

    index: int
    kind: str
    added: Json  # its `response.output_item.added` event
    id: str | None
    open: bool = True
    parts: dict[int, PartState] = field(default_factory=dict[int, PartState])
    fragments: list[str] = field(default_factory=list[str])
    done_arguments: str | None = None
    done_name: Any = None

    @property
    def item(self) -> Json:
        return json_object(self.added.get("item")) or {}


def agree(what: str, key: str, values: list[Any]) -> str:
    """The one value every event that names `key` gives it ("" when none does)."""
    present = [value for value in values if value is not None]
    for value in present:
        if not isinstance(value, str):
            raise MalformedToolCall(f"{what}: {key} must be a string, got {type(value).__name__}")
    if len(set(present)) > 1:
        raise MalformedToolCall(f"{what}: its events disagree on its {key}")
    return present[0] if present else ""


def checked_done(item: ItemState, frame: Json) -> Json:
    """The done item of `frame`, refused unless it is `item` (same type, same id) done."""
    done = json_object(frame.get("item"))
    if done is None or item_type(done) != item.kind:
        raise MalformedToolCall(f"output item {item.index} was added as a {item.kind} and done as another")
    if done.get("id") != item.id:
        raise MalformedToolCall(f"output item {item.index} changed its id")
    return done


def open_part(item: ItemState, frame: Json, kind: str) -> tuple[int, PartState]:
    """The open content part `frame` names, refused when it was never added or is done."""
    content_index = index_field(frame, "content_index")
    state = item.parts.get(content_index)
    if state is None or not state.open:
        raise MalformedToolCall(
            f"{kind} for content part {content_index} of output item {item.index}, not open"
        )
    return content_index, state


def message_event(item: ItemState, frame: Json, kind: str) -> list[StreamEvent]:
    """What the policy reads of one event (`kind`) of the open message `item`."""
    if kind == PART_ADDED:
        return part_added(item, frame)
    if kind == ITEM_DONE:
        return message_done(item, frame)
    if kind not in TEXT_DELTAS and kind not in TEXT_DONES and kind != PART_DONE:
        return [Passthrough(frame)]  # annotations, and events not yet invented
    content_index, state = open_part(item, frame, kind)
    wanted = TEXT_DELTAS.get(kind) or TEXT_DONES.get(kind)
    if (wanted is not None and state.kind != wanted) or (kind != PART_DONE and state.text_done):
        raise MalformedToolCall(
            f"{kind} for content part {content_index} (a {state.kind}) of output item {item.index}"
        )
    if kind in TEXT_DELTAS:
        delta = frame.get("delta")
        if not isinstance(delta, str):
            raise MalformedToolCall(f"{kind}: delta must be a string")
        state.text.append(delta)
        return [TextDelta(delta, 0, state.kind, raw=frame, original=delta)]
    part = json_object(frame.get("part")) if kind == PART_DONE else frame
    if part is None or (kind == PART_DONE and part.get("type") != state.kind):
        raise MalformedToolCall(f"{kind}: content part {content_index} must stay a {state.kind}")
    events = settle(
        item,
        content_index,
        state,
        part.get(TEXT_KEYS[state.kind]) if state.kind in TEXT_KEYS else None,
        frame,
    )
    state.text_done = True
    state.open = kind != PART_DONE
    return [*events, Passthrough(frame)]


def part_added(item: ItemState, frame: Json) -> list[StreamEvent]:
    content_index = index_field(frame, "content_index")
    part = json_object(frame.get("part"))
    kind = part.get("type") if part is not None else None
    if content_index in item.parts or part is None or not isinstance(kind, str):
        raise MalformedToolCall(
            f"content part {content_index} of output item {item.index}: added twice or not a typed part"
        )
    if kind in CALL_ITEMS or kind in UNJUDGEABLE_CALLS:
        raise MalformedToolCall(f"output item {item.index}: a message may not carry a {kind}")
    text = text_of(part)
    if kind in TEXT_KEYS and part.get(TEXT_KEYS[kind]) is not None and text is None:
        raise MalformedToolCall(f"content part {content_index}: its text must be a string")
    # Text in an added part would reach the client unread by the policy: it becomes a delta.
    stored = {**frame, "part": {**part, TEXT_KEYS[kind]: ""}} if text else frame
    state = PartState(kind, stored)
    item.parts[content_index] = state
    return [Passthrough(stored), *settle(item, content_index, state, text, frame)]


def message_done(item: ItemState, frame: Json) -> list[StreamEvent]:
    done = checked_done(item, frame)
    entries = json_list(done.get("content")) if done.get("content") is not None else []
    if entries is None:
        raise MalformedToolCall(f"output item {item.index}: a message's content must be a list")
    events: list[StreamEvent] = []
    for content_index, entry in enumerate(entries):
        part = json_object(entry)
        kind = part.get("type") if part is not None else None
        if part is None or not isinstance(kind, str) or kind in CALL_ITEMS or kind in UNJUDGEABLE_CALLS:
            raise MalformedToolCall(
                f"output item {item.index}: content part {content_index} is not a message's part"
            )
        state = item.parts.get(content_index)
        if state is None:  # text the stream never showed: streamed now, so the policy reads it
            empty = {**part, TEXT_KEYS[kind]: ""} if kind in TEXT_KEYS else part
            added: Json = {"type": PART_ADDED, "item_id": item.id, "output_index": item.index}
            added.update(content_index=content_index, part=empty)
            state = item.parts[content_index] = PartState(kind, added)
        elif state.kind != kind:
            raise MalformedToolCall(
                f"output item {item.index}: content part {content_index} must stay a {state.kind}"
            )
        events.extend(settle(item, content_index, state, text_of(part), frame))
    item.open = False
    return [*events, Passthrough(frame)]


def settle(
    item: ItemState, content_index: int, state: PartState, final: Any, frame: Json
) -> list[StreamEvent]:
    """A delta for the text `final` holds beyond what the deltas carried; text that contradicts
    them is refused (the client would show one and the policy have read the other)."""
    if final is None or state.kind not in DELTA_OF:
        return []
    streamed = "".join(state.text)
    if (
        not isinstance(final, str)
        or not final.startswith(streamed)
        or (state.text_done and final != streamed)
    ):
        raise MalformedToolCall(
            f"content part {content_index} of output item {item.index}: its text disagrees with its deltas"
        )
    if final == streamed:
        return []
    rest = final[len(streamed) :]
    state.text.append(rest)
    delta: Json = {
        "type": DELTA_OF[state.kind],
        "output_index": item.index,
        "content_index": content_index,
    }
    delta.update(delta=rest, sequence_number=frame.get("sequence_number"))
    if item.id is not None:
        delta["item_id"] = item.id
    if state.kind == "output_text":
        delta["logprobs"] = []
    return [TextDelta(rest, 0, state.kind, raw=delta, original=rest)]
