"""Writes the events a policy yields as a Responses API stream the client can trust.

Whatever the policy drops, adds, reorders or replaces, the client gets a well-formed stream: one
`response.created` first, output items opened and closed one at a time with `output_index` values
0..n in order (text of an item already closed carries on in a new message), content parts likewise,
`sequence_number` strictly increasing, a call item written only from a released `ToolCallEvent`
(added with arguments "", one delta holding the canonical arguments, done, item done), and done
events and done items holding exactly the text sent. Every event that carries the response object
(`response.created` ... `response.completed`) has its `output` rewritten to the items sent, so a
client reading only `response.completed` never sees what the policy removed. An event the policy
left alone, at the indices it had, is the model's very event.
"""

from __future__ import annotations

from luthien_proxy.dialects.openai_responses.shapes import (
    CALL_EVENTS,
    CALL_ITEMS,
    DELTA_OF,
    ENDING,
    ITEM_ADDED,
    ITEM_DONE,
    OPENING,
    PART_ADDED,
    PART_DONE,
    TEXT_DELTAS,
    TEXT_DONES,
    TEXT_KEYS,
    UNJUDGEABLE_CALLS,
    Json,
    item_type,
    json_object,
)
from luthien_proxy.dialects.openai_responses.writer_items import (
    ClientItem,
    ClientPart,
    added_frame,
    placed,
)
from luthien_proxy.dialects.openai_responses.writer_ledger import CREATED, ClientLedger, Frames
from luthien_proxy.model import (
    MalformedToolCall,
    Passthrough,
    ReasoningDelta,
    Stop,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolCallEvent,
    canonical_arguments,
)


class FrameWriter(ClientLedger):
    """One stream's encoder: `frames(event)` is every event that carries `event` (none, one, several)."""

    def frames(self, event: StreamEvent) -> Frames:
        if self._finished:
            return []  # the client's response has ended
        if isinstance(event, TextDelta):
            out = self._text(event)
        elif isinstance(event, ReasoningDelta):
            return []  # reasoning reaches the client only as the model's own items
        elif isinstance(event, ToolCallEvent):
            out = self._call(event.call)
        elif isinstance(event, Stop):
            out = self._end(json_object(event.raw))
        else:
            out = self._passthrough(event)
        return [self._numbered(frame) for frame in out]

    def _policy_part(self, kind: str, continues: int | None) -> tuple[Frames, ClientItem, ClientPart]:
        """The part new text of `kind` goes in: the open message's last part when it takes it, else
        a new part, in a new message when no message is open (or the open one carries other text)."""
        out: Frames = []
        item = self._open
        if item is None or item.kind != "message" or (continues is not None and item.continues != continues):
            out.extend(self._open_item(None, None, "message", continues))
            item = self._open
            assert item is not None
        part = item.parts[-1] if item.parts else None
        if part is None or part.kind != kind or part.text_done:
            frames, part = self._open_part(item, None, kind, None)
            out.extend(frames)
        return out, item, part

    def _text(self, event: TextDelta) -> Frames:
        raw = json_object(event.raw)
        kind = "refusal" if event.field == "refusal" else "output_text"
        source = raw.get("output_index") if raw is not None and raw.get("type") in TEXT_DELTAS else None
        out: Frames = []
        item: ClientItem | None = None
        part: ClientPart | None = None
        if (
            raw is not None
            and isinstance(source, int)
            and isinstance(content := raw.get("content_index"), int)
        ):
            out, item = self._model_item(source)
            if item is not None:
                frames, part = self._model_part(item, content)
                out.extend(frames)
                if part is None or part.kind != kind:  # its part was closed: the text goes on in a new one
                    frames, part = self._open_part(item, None, kind, None)
                    out.extend(frames)
        if item is None or part is None:
            frames, item, part = self._policy_part(kind, source if isinstance(source, int) else None)
            out.extend(frames)
        if raw is not None and event.text == event.original and raw.get("type") == DELTA_OF[kind]:
            out.append(placed(raw, item, part))
        else:
            fields: Json = {"type": DELTA_OF[kind], "item_id": item.id, "output_index": item.index}
            frame: Json = {**(raw or {}), **fields, "content_index": part.index, "delta": event.text}
            if kind == "output_text":
                frame["logprobs"] = []  # the model's logprobs spell out its own text, not this
            out.append(frame)
        part.text.append(event.text)
        return out

    def _call(self, call: ToolCall) -> Frames:
        if call.id in self._released:
            raise MalformedToolCall(f"the call {call.id!r} was released twice")
        self._released.add(call.id)
        kind = "custom_tool_call" if call.kind == "custom" else "function_call"
        _, key, delta_type, done_type = CALL_ITEMS[kind]
        # What the client assembles is what was judged: the arguments re-encoded from the call.
        arguments = call.arguments if call.kind == "custom" else canonical_arguments(call.arguments)
        original = self._reader.call_items.get(call.id)
        base = original if original is not None and item_type(original) == kind else {"type": kind}
        out = [*self._preamble(), *self._close()]
        index = len(self._items)
        item_id = base.get("id") if isinstance(base.get("id"), str) else f"fc_luthien_{index}"
        added = {
            **base,
            "id": item_id,
            "status": "in_progress",
            "call_id": call.id,
            "name": call.name,
            key: "",
        }
        done = {**added, key: arguments, "status": "completed"}
        self._items.append(ClientItem(index, None, kind, added, done=done))
        ids: Json = {"item_id": item_id, "output_index": index}
        finished: Json = {"type": done_type, **ids, key: arguments}
        if kind == "function_call":
            finished["name"] = call.name
        delta: Json = {"type": delta_type, **ids, "delta": arguments}
        out.extend(
            [
                added_frame(added, index),
                delta,
                finished,
                {"type": ITEM_DONE, "output_index": index, "item": done},
            ]
        )
        return out

    def _end(self, frame: Json | None) -> Frames:
        out = [*self._preamble(), *self._close()]
        if frame is None:  # a policy's stop: the response completes with what was sent
            response = json_object((self._reader.created or CREATED).get("response")) or {}
            frame = {"type": "response.completed", "response": {**response, "status": "completed"}}
        out.append(self._with_output(frame))
        self._finished = True
        return out

    def _passthrough(self, event: Passthrough) -> Frames:
        fields = json_object(event.raw)
        kind = fields.get("type") if fields is not None else None
        if fields is None or not isinstance(kind, str):
            raise MalformedToolCall("a passthrough event must carry a stream event object")
        if kind == "response.created":
            if self._started:
                return []  # the writer opened the stream with it already, for a policy that spoke first
            self._started = True
            return [self._with_output(fields)]
        if kind in OPENING:
            return [*self._preamble(), self._with_output(fields)]
        if kind in ENDING:
            return self._end(fields)
        if kind == "error":
            return [*self._close(), fields]
        if kind in CALL_EVENTS or kind in TEXT_DELTAS:
            raise MalformedToolCall(f"a {kind} reaches the client only as a released call or a TextDelta")
        source = fields.get("output_index")
        if kind == ITEM_ADDED or source is not None:
            if not isinstance(source, int) or isinstance(source, bool):
                raise MalformedToolCall(f"{kind}: output_index must be an integer")
            if kind == ITEM_ADDED:
                if item_type(json_object(fields.get("item")) or {}) in UNJUDGEABLE_CALLS:
                    raise MalformedToolCall("a call item reaches the client only as a released call")
                return self._model_item(source, fields)[0]
            out, item = self._model_item(source)
            return [*out, *self._item_event(item, fields, kind)] if item is not None else out
        item_id = fields.get("item_id")
        calls = (state for state in self._reader.items.values() if state.kind in CALL_ITEMS)
        if isinstance(item_id, str) and any(state.id == item_id for state in calls):
            raise MalformedToolCall(f"{kind} names a call item: a call reaches the client only whole")
        return [fields]

    def _item_event(self, item: ClientItem, fields: Json, kind: str) -> Frames:
        """A model event for the open `item`, at the client's indices, done events holding the text sent."""
        if kind == ITEM_DONE:
            done = json_object(fields.get("item"))
            if done is None or item_type(done) != item.kind:
                raise MalformedToolCall(f"output item {item.source} must stay a {item.kind}")
            self._open = None
            return self._finish_item(item, fields)
        content = fields.get("content_index")
        if item.kind != "message" or not isinstance(content, int):
            return [placed(fields, item)]
        out, part = self._model_part(item, content, fields if kind == PART_ADDED else None)
        if kind == PART_ADDED or part is None:
            return out
        if kind == PART_DONE:
            return [*out, *self._finish_part(item, part, json_object(fields.get("part")), fields)]
        if kind in TEXT_DONES:
            if part.text_done:
                return out
            part.text_done = True
            key, text = TEXT_KEYS[part.kind], "".join(part.text)
            if fields.get(key) != text:
                fields = {**fields, key: text, **({"logprobs": []} if "logprobs" in fields else {})}
        return [*out, placed(fields, item, part)]
