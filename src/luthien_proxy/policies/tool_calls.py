"""Tool calls as policies see them: complete, decoded, and tied to the choice and wire form they came in.

Every call a model proposes is read into a `ToolCall` whose `arguments` are the *canonical* JSON of
what the model sent: escapes decoded (`\\u0072m` is `rm`), duplicate keys collapsed the way a
client's parser collapses them, one compact encoding; arguments that are not a strict JSON object
are refused. Whatever a policy judged is re-encoded from this object for the client, so the client
can never assemble something other than what was judged.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Literal, cast

#: How a call travels on the OpenAI chat wire: `tool_calls[].function`, `tool_calls[].custom`, or the
#: legacy `message.function_call` / `delta.function_call`.
CallKind = Literal["function", "custom", "legacy"]

_LENIENT_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


class MalformedToolCall(ValueError):
    """A model's tool call that cannot be read as one (wrong types, too many, too large)."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # `1e999` would be re-encoded as `Infinity`, which is not JSON
        raise ValueError(f"{text} overflows a float")
    return value


def canonical_arguments(raw: str) -> str:
    """`raw` decoded as strict JSON (an object; no NaN or Infinity) and re-encoded compactly.

    Anything else is refused with `MalformedToolCall`: text that is not strict JSON is read
    differently by different parsers (JSON5, YAML, "repair" libraries), so it cannot be judged once
    for every client. Empty arguments are the empty object.
    """
    if not raw.strip():
        return "{}"
    try:
        parsed = json.loads(raw, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        raise MalformedToolCall(f"tool call arguments are not valid JSON ({type(exc).__name__})") from None
    if not isinstance(parsed, dict):
        raise MalformedToolCall(f"tool call arguments must be a JSON object, got {type(parsed).__name__}")
    try:
        encoded = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
        encoded.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: keep them escaped rather than fail the stream
        encoded = json.dumps(parsed, separators=(",", ":"))
    except (ValueError, RecursionError) as exc:
        raise MalformedToolCall(f"tool call arguments cannot be re-encoded ({type(exc).__name__})") from None
    return encoded


def _lenient_unescape(raw: str) -> str:
    """JSON string escapes decoded the way a forgiving parser would, for text that is not JSON."""

    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape.startswith("u") and len(escape) == 5:
            return chr(int(escape[1:], 16))
        return _SIMPLE_ESCAPES.get(escape, escape)

    return _LENIENT_ESCAPE.sub(replace, raw)


#: How deep `texts` looks into strings that are themselves JSON (`{"input": "{\\"cmd\\": ...}"}`).
_NESTED_JSON_DEPTH = 3


def _string_leaves(value: Any) -> list[str]:
    """Every key and string in a decoded JSON value, a list of strings also joined as one command
    line (`["rm", "-rf", "/"]`), and the strings of any string that is itself JSON. Iterative:
    the nesting depth is the model's choice."""
    found: list[str] = []
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, str):
            found.append(item)
            if depth < _NESTED_JSON_DEPTH and item.lstrip()[:1] in ("{", "["):
                with contextlib.suppress(ValueError, RecursionError):
                    pending.append((json.loads(item), depth + 1))
        elif isinstance(item, dict):
            mapping = cast("dict[Any, Any]", item)
            found.extend(str(key) for key in mapping)
            pending.extend((child, depth) for child in mapping.values())
        elif isinstance(item, list):
            items = cast("list[Any]", item)
            if items and all(isinstance(child, str) for child in items):
                found.append(" ".join(items))
            pending.extend((child, depth) for child in items)
    return found


@dataclass(frozen=True)
class ToolCall:
    """One complete call the model proposed (or a policy releases): what is judged is what is sent."""

    id: str
    name: str
    arguments: str
    choice: int = 0
    kind: CallKind = "function"

    @classmethod
    def from_model(
        cls, id: str, name: str, arguments: str, choice: int = 0, kind: CallKind = "function"
    ) -> ToolCall:
        """A call read from model output: its arguments canonicalised (custom tools take free text)."""
        return cls(id, name, arguments if kind == "custom" else canonical_arguments(arguments), choice, kind)

    def summary(self) -> dict[str, str]:
        """The call as recorded in decisions."""
        return {"id": self.id, "name": self.name, "arguments": self.arguments}

    def parsed_arguments(self) -> Any:
        """The arguments as JSON when they parse, else the raw string."""
        try:
            return json.loads(self.arguments)
        except (ValueError, RecursionError):
            return self.arguments

    def texts(self) -> list[str]:
        """Every text a rule should search: the name, the arguments, and each decoded string in them."""
        parsed = self.parsed_arguments()
        if isinstance(parsed, str):  # a custom tool's free text
            return [self.name, self.arguments, _lenient_unescape(self.arguments)]
        return [self.name, self.arguments, *_string_leaves(parsed)]

    def openai(self) -> dict[str, Any]:
        """The call as a `tool_calls` entry (legacy calls use `legacy_openai`)."""
        if self.kind == "custom":
            return {"id": self.id, "type": "custom", "custom": {"name": self.name, "input": self.arguments}}
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }

    def legacy_openai(self) -> dict[str, str]:
        """The call as a legacy `function_call` object."""
        return {"name": self.name, "arguments": self.arguments}


def optional_string(value: Any, what: str) -> str:
    """`value` when it is a string, "" when absent; anything else is a malformed call."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedToolCall(f"{what} must be a string, got {type(value).__name__}")
    return value


def _name_and_text(
    holder: Any, refusal: str, text_key: str, text_what: str, name_what: str = "a tool name"
) -> tuple[str, str]:
    """The `name` and the `text_key` string of the object that carries a call (`function`, `custom`
    or a legacy `function_call`), each "" when absent. One reading for every wire form, so no form
    is checked more loosely than another: a holder that is not an object is refused with `refusal`,
    a field that is not a string as `name_what` / `text_what`."""
    if not isinstance(holder, dict):
        raise MalformedToolCall(refusal)
    fields = cast("dict[str, Any]", holder)
    return optional_string(fields.get("name"), name_what), optional_string(fields.get(text_key), text_what)


def entry_call(entry: Any, choice: int, position: int) -> ToolCall:
    """One `tool_calls` entry of a complete message as a call."""
    if not isinstance(entry, dict):
        raise MalformedToolCall(f"choice {choice}: tool_calls[{position}] must be an object")
    entry = cast("dict[str, Any]", entry)
    call_id = optional_string(entry.get("id"), "a tool call id") or f"call_{choice}_{position}"
    custom = entry.get("custom")
    if entry.get("type") == "custom" or (custom is not None and entry.get("function") is None):
        refusal = f"choice {choice}: a custom tool call needs a 'custom' object"
        name, text = _name_and_text(custom, refusal, "input", "custom input")
        return ToolCall.from_model(call_id, name, text, choice, "custom")
    refusal = f"choice {choice}: tool_calls[{position}] needs a 'function' object"
    name, text = _name_and_text(entry.get("function"), refusal, "arguments", "arguments")
    return ToolCall.from_model(call_id, name, text, choice, "function")


def message_calls(message: Any, choice: int = 0) -> list[ToolCall]:
    """Every call of one complete message: its `tool_calls` entries, then a legacy `function_call`."""
    if not isinstance(message, dict):
        return []
    message = cast("dict[str, Any]", message)
    entries = message.get("tool_calls")
    if entries is not None and not isinstance(entries, list):
        raise MalformedToolCall(f"choice {choice}: tool_calls must be a list")
    calls = [entry_call(entry, choice, n) for n, entry in enumerate(cast("list[Any]", entries or []))]
    legacy = message.get("function_call")
    if legacy is not None:
        refusal = f"choice {choice}: function_call must be an object"
        name, text = _name_and_text(legacy, refusal, "arguments", "arguments", "a function name")
        calls.append(ToolCall.from_model(f"function_call_{choice}", name, text, choice, "legacy"))
    return calls


def choice_index(choice: dict[str, Any], position: int) -> int:
    """A choice's `index` (its position when absent); anything but a small integer is refused."""
    index = choice.get("index", position)
    if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < MAX_CHOICES:
        raise MalformedToolCall(f"choice index must be an integer in 0..{MAX_CHOICES - 1}, got {index!r}")
    return index


#: More choices or calls than this in one response is refused rather than judged.
MAX_CHOICES = 64
MAX_CALLS = 128


def response_calls(response: dict[str, Any]) -> list[ToolCall]:
    """The calls of every choice of a complete chat completion."""
    choices = response.get("choices")
    if choices is None:
        return []
    if not isinstance(choices, list):
        raise MalformedToolCall("choices must be a list")
    calls: list[ToolCall] = []
    seen: set[int] = set()
    for position, choice in enumerate(cast("list[Any]", choices)):
        if not isinstance(choice, dict):
            raise MalformedToolCall(f"choices[{position}] must be an object")
        choice = cast("dict[str, Any]", choice)
        index = choice_index(choice, position)
        if index in seen:
            raise MalformedToolCall(f"two choices have index {index}")
        seen.add(index)
        message = choice.get("message")
        if message is not None and not isinstance(message, dict):
            raise MalformedToolCall(f"choice {index}: message must be an object")
        if choice.get("delta") is not None:  # a client reading `message ?? delta` would run it
            raise MalformedToolCall(f"choice {index}: a complete response cannot carry a delta")
        calls.extend(message_calls(message, index))
    if len(calls) > MAX_CALLS:
        raise MalformedToolCall(f"a response may propose at most {MAX_CALLS} tool calls")
    return calls
