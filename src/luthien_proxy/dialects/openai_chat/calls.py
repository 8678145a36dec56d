"""Reading the tool calls of an OpenAI chat completion (every choice, every wire form) and writing them back.

Every entry of `tool_calls` (function and custom) and the legacy `function_call` becomes a
`ToolCall` whose arguments are canonical; what a policy releases is re-encoded from that object.
"""

from __future__ import annotations

from typing import Any, cast

from luthien_proxy.model.tool_call import MalformedToolCall, ToolCall


def call_entry(call: ToolCall) -> dict[str, Any]:
    """The call as a `tool_calls` entry (legacy calls use `legacy_entry`)."""
    if call.kind == "custom":
        return {"id": call.id, "type": "custom", "custom": {"name": call.name, "input": call.arguments}}
    return {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}


def legacy_entry(call: ToolCall) -> dict[str, str]:
    """The call as a legacy `function_call` object."""
    return {"name": call.name, "arguments": call.arguments}


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
