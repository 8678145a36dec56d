"""Assembles an OpenAI chat stream's tool calls from all their fragments.

A model can split a call anywhere: across chunks, choices and indexes, in the legacy
`function_call` field, before and after a `finish_reason`. `StreamCallAssembler` lets text through
at once but holds every fragment and every finish reason until the stream ends; the stream decoder
then hands the policy complete calls and one stop per choice, so no fragment can reach the client
unjudged: the encoder writes calls only from what the policy released.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from luthien_proxy.dialects.openai_chat.calls import MAX_CALLS, choice_index, optional_string
from luthien_proxy.model.tool_call import CallKind, MalformedToolCall, ToolCall

Chunk = dict[str, Any]
#: One stream's held tool-call text (ids, names, arguments) may not exceed this many characters.
MAX_ARGUMENT_CHARS = 4_000_000
_CALL_FIELDS = ("tool_calls", "function_call")


@dataclass
class _Fragments:
    kind: CallKind
    id: str = ""
    name: list[str] = field(default_factory=list[str])
    arguments: list[str] = field(default_factory=list[str])


def _has_content(delta: dict[str, Any]) -> bool:
    return any(value not in (None, "", [], {}) for value in delta.values())


def shell(template: Chunk) -> Chunk:
    """The chunk-level fields of `template` (id, model, created...) without choices or usage."""
    return {k: v for k, v in template.items() if k not in ("choices", "usage")}


def delta_chunk(template: Chunk, choice: int, delta: dict[str, Any], finish: str | None = None) -> Chunk:
    """One chunk shaped like `template` carrying `delta` for `choice`."""
    return {**shell(template), "choices": [{"index": choice, "delta": delta, "finish_reason": finish}]}


class StreamCallAssembler:
    """Feed it every chunk; it returns what may pass now and keeps the calls and finishes for the end."""

    def __init__(self) -> None:
        self._calls: dict[tuple[int, int], _Fragments] = {}
        self._finish: dict[int, str] = {}
        self._templates: dict[int, Chunk] = {}
        #: The stream's first chunk with choices: what a new chunk copies when its choice has none.
        self._first: Chunk | None = None
        self._pure_finishes: list[Chunk] = []
        self._trailing: list[Chunk] = []
        self._held_chars = 0

    def holding(self) -> bool:
        """Whether anything (a call fragment or a finish) is held for the end."""
        return bool(self._calls or self._finish)

    def feed(self, chunk: Chunk) -> Chunk | None:
        """What of `chunk` may reach the client now: itself, a copy without calls and finishes, or None."""
        if not isinstance(chunk, dict):  # pyright: ignore[reportUnnecessaryIsInstance]  (JSON from the wire)
            raise MalformedToolCall("a stream chunk must be a JSON object")
        choices = chunk.get("choices")
        if not choices:
            if self.holding():
                self._trailing.append(chunk)
                return None
            return chunk
        if not isinstance(choices, list):
            raise MalformedToolCall("choices must be a list")
        choices = cast("list[Any]", choices)
        if self._first is None:
            self._first = chunk
        if not any(_carries_call_or_finish(choice) or self._spells_held_call(choice) for choice in choices):
            return chunk
        passing: list[dict[str, Any]] = []
        pure = True
        for position, choice in enumerate(choices):
            if not isinstance(choice, dict):
                raise MalformedToolCall(f"choices[{position}] must be an object")
            choice = cast("dict[str, Any]", choice)
            index = choice_index(choice, position)
            delta = choice.get("delta") or dict[str, Any]()
            if not isinstance(delta, dict):
                raise MalformedToolCall(f"choice {index}: delta must be an object")
            delta = cast("dict[str, Any]", delta)
            if choice.get("message") is not None:  # a client reading `message ?? delta` would run it
                raise MalformedToolCall(f"choice {index}: a stream chunk cannot carry a whole message")
            self._templates.setdefault(index, chunk)
            carries_call = self._take_calls(index, delta)
            if choice.get("finish_reason") is not None:
                self._finish[index] = optional_string(choice["finish_reason"], "finish_reason")
            rest = {k: v for k, v in delta.items() if k not in _CALL_FIELDS}
            if _has_content(rest) or any(delta.get(k) for k in _CALL_FIELDS):
                pure = False
            if _has_content(rest):
                kept = {**choice, "delta": rest, "finish_reason": None}
                if carries_call or self._spells_held_call(choice):
                    kept.pop("logprobs", None)  # the logprobs of a call's tokens would spell it out
                passing.append(kept)
        if pure and not chunk.get("usage"):
            self._pure_finishes.append(chunk)
        elif chunk.get("usage"):
            self._trailing.append({**chunk, "choices": []})
        return {**chunk, "choices": passing} if passing else None

    def _spells_held_call(self, choice: Any) -> bool:
        """Whether `choice` has logprobs while a call of its choice is held (they could spell it)."""
        if not self._calls or not isinstance(choice, dict):
            return False
        choice = cast("dict[str, Any]", choice)
        if choice.get("logprobs") is None:
            return False
        index = choice.get("index", 0)
        return any(held == index for held, _ in self._calls)

    def _take_calls(self, choice: int, delta: dict[str, Any]) -> bool:
        """Hold the call fragments of `delta`; whether it had any."""
        entries = delta.get("tool_calls")
        if entries is not None:
            if isinstance(entries, dict):
                entries = [cast("dict[str, Any]", entries)]
            if not isinstance(entries, list):
                raise MalformedToolCall(f"choice {choice}: tool_calls must be a list")
            entries = cast("list[Any]", entries)
            for entry in entries:
                self._take_entry(choice, entry)
        legacy = delta.get("function_call")
        if legacy is not None:
            if not isinstance(legacy, dict):
                raise MalformedToolCall(f"choice {choice}: function_call must be an object")
            legacy = cast("dict[str, Any]", legacy)
            self._add(choice, -1, "legacy", None, legacy.get("name"), legacy.get("arguments"))
        return bool(entries) or legacy is not None

    def _take_entry(self, choice: int, entry: Any) -> None:
        if not isinstance(entry, dict):
            raise MalformedToolCall(f"choice {choice}: a tool_calls entry must be an object")
        entry = cast("dict[str, Any]", entry)
        index = entry.get("index", 0)
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_CALLS:
            raise MalformedToolCall(f"tool call index must be an integer in 0..{MAX_CALLS - 1}")
        custom = entry.get("custom")
        if entry.get("type") == "custom" or custom is not None:
            part = cast("dict[str, Any]", custom) if isinstance(custom, dict) else {}
            self._add(choice, index, "custom", entry.get("id"), part.get("name"), part.get("input"))
            if entry.get("function") is not None:
                raise MalformedToolCall(f"choice {choice}: a tool call is both custom and a function")
            return
        function = entry.get("function") or dict[str, Any]()
        if not isinstance(function, dict):
            raise MalformedToolCall(f"choice {choice}: a tool call's function must be an object")
        function = cast("dict[str, Any]", function)
        self._add(choice, index, "function", entry.get("id"), function.get("name"), function.get("arguments"))

    def _add(self, choice: int, index: int, kind: CallKind, id: Any, name: Any, arguments: Any) -> None:
        fragments = self._calls.get((choice, index))
        if fragments is None:
            if len(self._calls) >= MAX_CALLS:
                raise MalformedToolCall(f"a stream may propose at most {MAX_CALLS} tool calls")
            fragments = self._calls[(choice, index)] = _Fragments(kind)
        elif fragments.kind != kind:
            raise MalformedToolCall(f"choice {choice}: tool call {index} changes its type mid-stream")
        call_id, name_part = optional_string(id, "a tool call id"), optional_string(name, "a tool name")
        text = optional_string(arguments, "arguments")
        # Everything held counts, each fragment at least one: the limit bounds the memory a stream holds.
        self._held_chars += len(call_id) + len(name_part) + len(text) + 1
        if self._held_chars > MAX_ARGUMENT_CHARS:
            raise MalformedToolCall(f"tool calls exceed {MAX_ARGUMENT_CHARS} characters")
        fragments.id = fragments.id or call_id
        # Names are concatenated as the SDKs concatenate them, so the judge sees what a client would.
        fragments.name.append(name_part)
        fragments.arguments.append(text)

    def calls(self) -> list[ToolCall]:
        """Every call held, complete and canonical, in choice and index order (legacy last)."""
        ordered = sorted(self._calls.items(), key=lambda item: (item[0][0], item[0][1] < 0, item[0][1]))
        return [
            ToolCall.from_model(
                parts.id or f"call_{choice}_{max(index, 0)}",
                "".join(parts.name),
                "".join(parts.arguments),
                choice,
                parts.kind,
            )
            for (choice, index), parts in ordered
        ]

    def template(self, choice: int) -> Chunk:
        """A chunk of `choice` (or of the stream) whose id, model and created a new chunk copies."""
        found = self._templates.get(choice) or self._first
        empty: Chunk = {}
        return found if found is not None else next(iter(self._trailing), empty)

    def stops(self) -> list[tuple[int, str | None, Chunk | None]]:
        """For every choice that called or finished, in order: its finish reason as the model sent it,
        and the chunk that carried only that finish when it can be written back verbatim."""
        called = {choice for choice, _ in self._calls}
        verbatim: dict[int, Chunk] = {}
        for chunk in self._pure_finishes:
            indexes = {choice_index(c, n) for n, c in enumerate(chunk["choices"])}
            if len(indexes) == 1 and not indexes & called:
                verbatim.setdefault(indexes.pop(), chunk)
        return [
            (choice, self._finish.get(choice), verbatim.get(choice))
            for choice in sorted(called | set(self._finish))
        ]

    def trailing(self) -> list[Chunk]:
        """What came after a held call or finish without text (usage): written after the stops."""
        return list(self._trailing)


def _carries_call_or_finish(choice: Any) -> bool:
    if not isinstance(choice, dict):
        return True  # let `feed` refuse it
    choice = cast("dict[str, Any]", choice)
    if choice.get("finish_reason") is not None or choice.get("message") is not None:
        return True
    delta = choice.get("delta")
    if delta is None:
        return False
    if not isinstance(delta, dict):
        return True  # let `feed` refuse it
    delta = cast("dict[str, Any]", delta)
    return any(delta.get(k) is not None for k in _CALL_FIELDS)
