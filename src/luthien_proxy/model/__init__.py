"""The neutral model policies see — requests, responses and stream events of typed parts — the same
whatever dialect the client speaks. Dialects (`luthien_proxy.dialects`) decode into it and encode
out of it; it depends on nothing else in the package."""

from luthien_proxy.model.events import (
    Passthrough,
    ReasoningDelta,
    Stop,
    StreamEvent,
    TextDelta,
    ToolCallEvent,
)
from luthien_proxy.model.parts import Opaque, Part, Reasoning, Text, ToolResult, parts_text
from luthien_proxy.model.request import Message, Request, Tool
from luthien_proxy.model.response import Choice, Response, map_parts_text
from luthien_proxy.model.tool_call import CallKind, MalformedToolCall, ToolCall, canonical_arguments

__all__ = [
    "CallKind",
    "Choice",
    "MalformedToolCall",
    "Message",
    "Opaque",
    "Part",
    "Passthrough",
    "Reasoning",
    "ReasoningDelta",
    "Request",
    "Response",
    "Stop",
    "StreamEvent",
    "Text",
    "TextDelta",
    "Tool",
    "ToolCall",
    "ToolCallEvent",
    "ToolResult",
    "canonical_arguments",
    "map_parts_text",
    "parts_text",
]
