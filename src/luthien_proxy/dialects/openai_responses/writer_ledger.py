"""The writer's ledger of what a Responses stream has sent the client, and the moves that keep it
well-formed: opening an item at the next index (closing the open one first, with done events
holding the text sent), opening a part, finding the client's item for a model item, numbering."""

from __future__ import annotations

from luthien_proxy.dialects.openai_responses.shapes import (
    CALL_ITEMS,
    ITEM_DONE,
    TEXT_KEYS,
    Json,
    item_type,
    json_object,
)
from luthien_proxy.dialects.openai_responses.stream_reader import StreamReader
from luthien_proxy.dialects.openai_responses.writer_items import (
    ClientItem,
    ClientPart,
    added_frame,
    model_part_at,
    new_message,
    new_part_frame,
    part_done_frame,
    placed,
    text_done_frame,
)
from luthien_proxy.model import MalformedToolCall

#: The `response.created` a stream opens with when the model sent none before a policy spoke.
CREATED: Json = {
    "type": "response.created",
    "response": {
        "id": "resp_luthien",
        "object": "response",
        "created_at": 0,
        "status": "in_progress",
        "model": "",
        "output": [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
    },
}
Frames = list[Json]


class ClientLedger:
    """The client's items and parts as sent, and the frames that open and close them."""

    def __init__(self, reader: StreamReader) -> None:
        self._reader = reader
        self._items: list[ClientItem] = []
        self._by_source: dict[int, ClientItem] = {}
        self._open: ClientItem | None = None
        self._released: set[str] = set()
        self._last = -1
        self._started = False
        self._finished = False

    def _numbered(self, frame: Json) -> Json:
        number = frame.get("sequence_number")
        if isinstance(number, int) and not isinstance(number, bool) and number > self._last:
            self._last = number
            return frame
        self._last += 1
        return {**frame, "sequence_number": self._last}

    def _with_output(self, frame: Json) -> Json:
        """`frame` with its response's `output` the items sent (the frame itself when it already is)."""
        response = json_object(frame.get("response"))
        if response is None:
            return frame
        output = [item.done if item.done is not None else item.item for item in self._items]
        if response.get("output") == output:
            return frame
        return {**frame, "response": {**response, "output": output}}

    def _preamble(self) -> Frames:
        """`response.created` when content comes before it (a policy that speaks first)."""
        if self._started:
            return []
        self._started = True
        return [self._with_output(self._reader.created or CREATED)]

    def _open_item(
        self, source: int | None, frame: Json | None, kind: str, continues: int | None = None
    ) -> Frames:
        """Close the open item and open a new one at the next index, from the model's `frame` when given."""
        out = [*self._preamble(), *self._close()]
        index = len(self._items)
        if frame is None:
            like = self._reader.items[continues].item if continues is not None else None
            frame = added_frame(new_message(index, like), index)
        item = ClientItem(index, source, kind, json_object(frame.get("item")) or {}, continues=continues)
        self._items.append(item)
        self._open = item
        if source is not None:
            self._by_source[source] = item
        out.append(placed(frame, item))
        return out

    def _close(self) -> Frames:
        item, self._open = self._open, None
        return self._finish_item(item, None) if item is not None else []

    def _finish_item(self, item: ClientItem, frame: Json | None) -> Frames:
        """The events that close `item`: its open parts' done events, then its done (the model's `frame`)."""
        model_item = json_object(frame.get("item")) if frame is not None else None
        out: Frames = []
        for part in item.parts:
            out.extend(self._finish_part(item, part, model_part_at(model_item, part.source)))
        item.done = item.done_item(model_item)
        if frame is None:
            out.append({"type": ITEM_DONE, "output_index": item.index, "item": item.done})
        else:
            out.append(placed(frame if item.done is model_item else {**frame, "item": item.done}, item))
        return out

    def _finish_part(
        self, item: ClientItem, part: ClientPart, model_part: Json | None, frame: Json | None = None
    ) -> Frames:
        if part.final is not None:
            return []
        out: Frames = []
        if part.kind in TEXT_KEYS and not part.text_done:
            out.append(text_done_frame(item, part))
            part.text_done = True
        part.final = part.sent_part(model_part)
        if frame is None:
            out.append(part_done_frame(item, part, part.final))
        else:
            out.append(
                placed(frame if part.final is model_part else {**frame, "part": part.final}, item, part)
            )
        return out

    def _model_item(self, source: int, frame: Json | None = None) -> tuple[Frames, ClientItem | None]:
        """The open client item for the model's item `source`, opened now if it never was; None
        when it was closed already."""
        if self._open is not None and self._open.source == source:
            return [], self._open
        if source in self._by_source:
            return [], None
        model = self._reader.items.get(source)
        if model is None:
            raise MalformedToolCall(f"an event for output item {source}, which the model never added")
        if model.kind in CALL_ITEMS:
            raise MalformedToolCall("a call item reaches the client only as a released call")
        if frame is not None and item_type(json_object(frame.get("item")) or {}) != model.kind:
            raise MalformedToolCall(f"output item {source} must stay a {model.kind}")
        out = self._open_item(source, frame or model.added, model.kind)
        return out, self._open

    def _open_part(
        self, item: ClientItem, source: int | None, kind: str, frame: Json | None
    ) -> tuple[Frames, ClientPart]:
        index = len(item.parts)
        frame = frame or new_part_frame(item, index, kind)
        part = ClientPart(index, source, kind, json_object(frame.get("part")) or {})
        item.parts.append(part)
        return [placed(frame, item, part)], part

    def _model_part(
        self, item: ClientItem, source: int, frame: Json | None = None
    ) -> tuple[Frames, ClientPart | None]:
        for part in item.parts:
            if part.source == source:
                return [], part if part.final is None else None
        model = self._reader.items.get(item.source) if item.source is not None else None
        state = model.parts.get(source) if model is not None else None
        if state is None:
            raise MalformedToolCall(f"an event for content part {source}, which the model never added")
        return self._open_part(item, source, state.kind, frame or state.added)
