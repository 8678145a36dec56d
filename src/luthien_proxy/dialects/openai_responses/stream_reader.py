"""Reads a Responses API stream into neutral events, holding every call item whole.

The model is the adversary: every event is checked against the stream's grammar. Text deltas of a
message pass at once as `TextDelta`s; a `function_call` (or `custom_tool_call`) item is held from
its `response.output_item.added` through every argument delta until its `response.output_item.done`,
then its arguments are parsed strictly and one `ToolCallEvent` is emitted. Reasoning items (their
encrypted content), web searches and unknown items pass as `Passthrough`; `response.completed` and
`response.incomplete` are the `Stop`.

Fail-closed: an event that breaks the grammar — an item event before `response.created` or after
the response ended, an index twice added, never added or already done, an `item_id` that is not
its item's, an item done as another type, text in a call or outside a message, a call in a
message's content, an item a client runs that no `ToolCall` carries, a call still open at
`response.completed`, `response.incomplete` or the end of the stream, arguments its events disagree
on, invalid or oversized arguments, two calls with one `call_id` — raises `MalformedToolCall`, and
nothing of a held call has reached the client. Done text that the deltas never carried is emitted
as one more delta, so the policy reads all of it. `error` and `response.failed` pass; a call still
open then is dropped unsent.
"""

from __future__ import annotations

from typing import Any

from luthien_proxy.dialects.openai_responses.reader_items import ItemState, agree, checked_done, message_event
from luthien_proxy.dialects.openai_responses.shapes import (
    CALL_EVENTS,
    CALL_ITEMS,
    ENDING,
    ITEM_ADDED,
    ITEM_DONE,
    MAX_ARGUMENT_CHARS,
    MAX_CALLS,
    OPENING,
    PART_ADDED,
    PART_DONE,
    TEXT_DELTAS,
    TEXT_DONES,
    UNJUDGEABLE_CALLS,
    Json,
    index_field,
    item_type,
    json_object,
)
from luthien_proxy.model import MalformedToolCall, Passthrough, Stop, StreamEvent, ToolCall, ToolCallEvent

_ITEM_EVENTS = frozenset(
    (ITEM_ADDED, ITEM_DONE, PART_ADDED, PART_DONE, *CALL_EVENTS, *TEXT_DELTAS, *TEXT_DONES)
)


class StreamReader:
    """Feed it every event; it returns the events that may reach the policy now."""

    def __init__(self) -> None:
        self.items: dict[int, ItemState] = {}
        #: The model's `response.created`, and each released call's done item by `call_id` (the
        #: writer copies their fields into what it writes).
        self.created: Json | None = None
        self.call_items: dict[str, Json] = {}
        self._by_id: dict[str, ItemState] = {}
        self._call_ids: dict[str, int] = {}
        self._calls = 0
        self._held_chars = 0
        self._ended = False

    def feed(self, frame: Any) -> list[StreamEvent]:
        fields = json_object(frame)
        kind = fields.get("type") if fields is not None else None
        if fields is None or not isinstance(kind, str):
            raise MalformedToolCall("a stream event must be a JSON object with a string type")
        if (kind in OPENING or kind in ENDING) and (
            self._ended or json_object(fields.get("response")) is None
        ):
            raise MalformedToolCall(f"{kind} must carry a response object, before the response ended")
        if kind in _ITEM_EVENTS or "output_index" in fields:
            if self.created is None or self._ended:
                raise MalformedToolCall(
                    f"{kind} outside the response (before response.created or after its end)"
                )
            return self._item_event(fields, kind)
        if kind == "response.created":
            if self.created is not None:
                raise MalformedToolCall("a stream has one response.created")
            self.created = fields
        elif kind in ("response.completed", "response.incomplete"):
            self._no_open_call(kind)
            self._ended = True
            response = json_object(fields.get("response")) or {}
            status = response.get("status")
            return [Stop(0, status if isinstance(status, str) else None, raw=fields)]
        elif kind in ("response.failed", "error"):
            self._ended = self._ended or kind == "response.failed"
            for item in self.items.values():
                if item.kind in CALL_ITEMS:
                    item.open = False  # the model failed mid-call: the call is dropped, never sent
        elif isinstance(item_id := fields.get("item_id"), str) and (
            item_id in self._by_id and self._by_id[item_id].kind in CALL_ITEMS
        ):
            raise MalformedToolCall(
                f"{kind} names call item {item_id!r}: a call reaches the client only whole"
            )
        return [Passthrough(fields)]

    def finish(self) -> None:
        """The stream ended: a call still open was never finished, so it is refused, not released."""
        self._no_open_call("the end of the stream")

    def _no_open_call(self, where: str) -> None:
        for index, item in self.items.items():
            if item.kind in CALL_ITEMS and item.open:
                raise MalformedToolCall(f"{item.kind} item {index} never done before {where}")

    def _hold(self, chars: int) -> None:
        # Every fragment counts at least one: the limit bounds the memory a stream can make us hold.
        self._held_chars += chars + 1
        if self._held_chars > MAX_ARGUMENT_CHARS:
            raise MalformedToolCall(f"tool calls exceed {MAX_ARGUMENT_CHARS} characters")

    def _item_event(self, frame: Json, kind: str) -> list[StreamEvent]:
        if kind == ITEM_ADDED:
            return self._added(frame)
        index = index_field(frame, "output_index")
        item = self.items.get(index)
        if item is None:
            raise MalformedToolCall(f"{kind} for output item {index}, which was never added")
        if not item.open:
            raise MalformedToolCall(f"{kind} for output item {index} after its done")
        if "item_id" in frame and frame["item_id"] != item.id:
            raise MalformedToolCall(f"{kind}: item_id {frame['item_id']!r} is not output item {index}'s")
        if item.kind in CALL_ITEMS:
            return self._call_event(item, frame, kind)
        if kind in CALL_EVENTS or (item.kind != "message" and (kind in TEXT_DELTAS or kind in TEXT_DONES)):
            raise MalformedToolCall(f"{kind} for output item {index}, a {item.kind} item")
        if item.kind == "message":
            return message_event(item, frame, kind)
        if kind == ITEM_DONE:
            checked_done(item, frame)
            item.open = False
        return [Passthrough(frame)]

    def _added(self, frame: Json) -> list[StreamEvent]:
        index = index_field(frame, "output_index")
        if index in self.items:
            raise MalformedToolCall(f"output item {index} added twice")
        item = json_object(frame.get("item"))
        kind = item_type(item) if item is not None else ""
        if item is None or not kind:
            raise MalformedToolCall(f"output item {index}: item must be an object with a type")
        if kind in UNJUDGEABLE_CALLS:
            raise MalformedToolCall(f"output item {index}: a {kind} runs on the client and cannot be judged")
        item_id = item.get("id")
        if item_id is not None and (not isinstance(item_id, str) or item_id in self._by_id):
            raise MalformedToolCall(f"output item {index}: its id {item_id!r} is not a new string")
        if kind == "message" and item.get("content") not in (None, []):
            # A client starts the message from this item: content here would bypass the parts' checks.
            raise MalformedToolCall(f"output item {index}: output_item.added may not carry content")
        if kind == "message" and item.get("content") is None:
            frame = {**frame, "item": {**item, "content": []}}  # a client appends its parts to it
        state = ItemState(index, kind, frame, item_id)
        self.items[index] = state
        if item_id is not None:
            self._by_id[item_id] = state
        if kind in CALL_ITEMS:
            self._start_call(state, item)
            return []
        return [Passthrough(frame)]

    def _claim_call_id(self, call_id: str, index: int) -> None:
        if self._call_ids.setdefault(call_id, index) != index:
            raise MalformedToolCall(f"two calls share the call_id {call_id!r}")

    def _start_call(self, state: ItemState, item: Json) -> None:
        what, key = f"{state.kind} item {state.index}", CALL_ITEMS[state.kind][1]
        call_id, name, initial = (agree(what, k, [item.get(k)]) for k in ("call_id", "name", key))
        self._calls += 1
        if self._calls > MAX_CALLS:
            raise MalformedToolCall(f"a stream may propose at most {MAX_CALLS} tool calls")
        if call_id:
            self._claim_call_id(call_id, state.index)
        self._hold(len(call_id) + len(name) + len(initial))
        if initial:
            state.fragments.append(initial)

    def _call_event(self, item: ItemState, frame: Json, kind: str) -> list[StreamEvent]:
        _, key, delta_type, done_type = CALL_ITEMS[item.kind]
        what = f"{item.kind} item {item.index}"
        if kind == delta_type:
            delta = frame.get("delta")
            if not isinstance(delta, str) or item.done_arguments is not None:
                raise MalformedToolCall(f"{what}: a {kind} must be a string before its done")
            self._hold(len(delta))
            item.fragments.append(delta)
            return []
        if kind == done_type:
            value = frame.get(key)
            if not isinstance(value, str) or item.done_arguments is not None:
                raise MalformedToolCall(f"{what}: one {kind} with a string {key}")
            self._hold(len(value))
            item.done_arguments, item.done_name = value, frame.get("name")
            return []
        if kind == ITEM_DONE:
            return [self._release(item, frame)]
        raise MalformedToolCall(f"a {item.kind} item carries only its argument events, got {kind}")

    def _release(self, item: ItemState, frame: Json) -> ToolCallEvent:
        done = checked_done(item, frame)
        call_kind, key, *_ = CALL_ITEMS[item.kind]
        what, added = f"{item.kind} item {item.index}", item.item
        call_id = agree(what, "call_id", [added.get("call_id"), done.get("call_id")])
        name = agree(what, "name", [added.get("name"), item.done_name, done.get("name")])
        # What the client runs is the done item; what the deltas and the done event said must match it.
        claims = ["".join(item.fragments)] if item.fragments else []
        arguments = agree(what, key, [*claims, item.done_arguments, done.get(key)])
        call_id = call_id or f"call_luthien_{item.index}"
        self._claim_call_id(call_id, item.index)
        item.open = False
        call = ToolCall.from_model(call_id, name, arguments, 0, call_kind)
        self.call_items[call_id] = done
        return ToolCallEvent(call)
