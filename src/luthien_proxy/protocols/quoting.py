"""What the agent wrote, quoted into a trusted model's prompt as data it cannot break out of.

The judge's prompt (`monitor`) and the trusted editor's (`trusted`) are filled by `fill_quoted`:
each placeholder becomes JSON (`quote_data`) in which no delimiter can appear, so text in a tool
call or the conversation can close neither the tag it is quoted in nor a fence, and in one pass,
so a placeholder written inside the data stays text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from luthien_proxy.model import Request
from luthien_proxy.protocols.toolcalls import ToolCall

#: Characters a delimiter could be built from, escaped inside quoted data so no tag or fence of
#: the template can be closed from inside (JSON allows `\\uXXXX` anywhere in a string).
_DELIMITER_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "`": "\\u0060"}
_DELIMITER = re.compile("[<>&`]")


def quote_data(value: Any) -> str:
    """`value` as JSON in which no delimiter can appear: no raw newline or quote leaves a string
    (JSON escapes them) and `<`, `>`, `&` and backticks are `\\u` escapes, so text the agent wrote
    cannot close the `<tool_call>` tag (or a fence) it is quoted in."""
    try:
        encoded = json.dumps(value, ensure_ascii=False)
        encoded.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: keep them escaped
        encoded = json.dumps(value)
    return _DELIMITER.sub(lambda match: _DELIMITER_ESCAPES[match.group(0)], encoded)


def fill_quoted(template: str, values: Mapping[str, Callable[[], Any]]) -> str:
    """`template` with each placeholder of `values` (`"{call}"`: a function giving its value)
    replaced by the value quoted (`quote_data`), in one pass: a placeholder written inside the
    data is never replaced in turn. Only the placeholders the template uses are computed."""
    placeholder = re.compile("|".join(re.escape(p) for p in values))
    return placeholder.sub(lambda match: quote_data(values[match.group(0)]()), template)


def call_data(call: ToolCall) -> dict[str, Any]:
    """A tool call as a prompt quotes it: its name and its arguments (as JSON when they parse)."""
    return {"name": call.name, "arguments": call.parsed_arguments()}


def recent_turns(request: Request, last: int) -> list[dict[str, str]]:
    """The last `last` messages of the request as `{"role", "text"}` (a message's calls and
    results included in its text, so a trusted model sees what the agent already did)."""
    messages = request.messages[-last:] if last > 0 else []
    return [{"role": message.role or "?", "text": message.text()} for message in messages]
