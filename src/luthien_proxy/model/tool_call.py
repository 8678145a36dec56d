"""A tool call as policies see it: complete, decoded, and tied to the choice and wire form it came in.

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

#: The form a call travels in: a function taking JSON arguments, a custom tool taking free text, or
#: (OpenAI chat only) the legacy single `function_call`. A dialect re-encodes a call in its form.
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
