"""What a Responses stream has sent the client: its output items and their content parts, as the
writer opened them, and the done events and done items that close them holding exactly the text
sent — never the model's own text where a policy changed it, nor text the client never saw."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from luthien_proxy.dialects.openai_responses.shapes import (
    DONE_OF,
    ITEM_ADDED,
    PART_ADDED,
    PART_DONE,
    TEXT_KEYS,
    Json,
    json_list,
    json_object,
)


@dataclass
class ClientPart:
    """A content part as the client sees it."""

    index: int  # its `content_index` for the client
    source: int | None  # the model's `content_index`, None for a part the writer made
    kind: str
    added: Json  # the part as sent in `response.content_part.added`
    text: list[str] = field(default_factory=list[str])
    text_done: bool = False
    final: Json | None = None  # the part as sent in `response.content_part.done`

    def sent_part(self, model_part: Json | None) -> Json:
        """The part holding exactly the text sent, with every other field of the model's (`model_part`)."""
        base = model_part if model_part is not None else self.added
        key = TEXT_KEYS.get(self.kind)
        if key is None:
            return base
        text = "".join(self.text)
        if base.get(key) == text:
            return base
        # The model's logprobs spell out the text the policy replaced: they do not go with it.
        return {**{k: v for k, v in base.items() if k != "logprobs"}, key: text}


@dataclass
class ClientItem:
    """An output item as the client sees it."""

    index: int  # its `output_index` for the client
    source: int | None  # the model's `output_index`, None for an item the writer made
    kind: str
    item: Json  # the item as sent in `response.output_item.added`
    parts: list[ClientPart] = field(default_factory=list[ClientPart])
    done: Json | None = None  # the item as sent in `response.output_item.done`
    continues: int | None = None  # the model item whose text this writer-made item carries on

    @property
    def id(self) -> Any:
        return self.item.get("id")

    def done_item(self, model_item: Json | None) -> Json:
        """The done item: the model's (`model_item`) or the added one, a message's content being
        exactly the parts sent."""
        base = model_item if model_item is not None else {**self.item, "status": "completed"}
        if self.kind != "message":
            return base
        content = [part.final if part.final is not None else part.sent_part(None) for part in self.parts]
        return base if base.get("content") == content else {**base, "content": content}


def model_part_at(model_item: Json | None, source: int | None) -> Json | None:
    """The model's done item's content part at `source`, if it has one."""
    parts = json_list(model_item.get("content")) if model_item is not None else None
    if parts is None or source is None or not 0 <= source < len(parts):
        return None
    return json_object(parts[source])


def placed(frame: Json, item: ClientItem, part: ClientPart | None = None) -> Json:
    """`frame` at the client's indices for `item` (and `part`): the frame itself when they match."""
    changes: Json = {}
    if frame.get("output_index") != item.index:
        changes["output_index"] = item.index
    if "item_id" in frame and frame["item_id"] != item.id:
        changes["item_id"] = item.id
    if part is not None and frame.get("content_index") != part.index:
        changes["content_index"] = part.index
    return {**frame, **changes} if changes else frame


def new_message(index: int, like: Json | None = None) -> Json:
    """A message item the writer opens (for a policy's text, or text carried on from `like`)."""
    base = {k: v for k, v in like.items() if k not in ("id", "content", "status")} if like else {}
    fields: Json = {"id": f"msg_luthien_{index}", "type": "message", "status": "in_progress"}
    return {**fields, "role": "assistant", **base, "content": []}


def added_frame(item: Json, index: int) -> Json:
    return {"type": ITEM_ADDED, "output_index": index, "item": item}


def new_part_frame(item: ClientItem, index: int, kind: str) -> Json:
    """A `response.content_part.added` for an empty part of `kind` the writer opens."""
    part: Json = {"type": kind, TEXT_KEYS.get(kind, "text"): ""}
    if kind == "output_text":
        part["annotations"] = []
    return {
        "type": PART_ADDED,
        "item_id": item.id,
        "output_index": item.index,
        "content_index": index,
        "part": part,
    }


def text_done_frame(item: ClientItem, part: ClientPart) -> Json:
    """The text done event of `part`, with the text sent."""
    frame: Json = {"type": DONE_OF[part.kind], "item_id": item.id, "output_index": item.index}
    frame.update({"content_index": part.index, TEXT_KEYS[part.kind]: "".join(part.text)})
    if part.kind == "output_text":
        frame["logprobs"] = []
    return frame


def part_done_frame(item: ClientItem, part: ClientPart, final: Json) -> Json:
    frame: Json = {"type": PART_DONE, "item_id": item.id, "output_index": item.index}
    return {**frame, "content_index": part.index, "part": final}
