"""Streaming-safe tool-call handling shared by every protocol.

Text passes straight through. The pipeline delivers each call whole, as a `ToolCallEvent`, after
the model's text; the guard holds every call and everything after the first one (the stops, the
usage) until the input ends, `decide` turns the complete calls into an `Outcome`, and only that
reaches the client: the released calls, the outcome's text (a block message, the trusted model's
answer), then the stops. Nothing of a call is yielded before `decide` returns.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from luthien_proxy.model import Stop, StreamEvent, TextDelta, ToolCall, ToolCallEvent
from luthien_proxy.protocols.toolcalls import Outcome

Decide = Callable[[list[ToolCall]], Awaitable[Outcome]]


async def guard_stream(events: AsyncIterator[StreamEvent], decide: Decide) -> AsyncIterator[StreamEvent]:
    """Yield `events` with every tool call held until the input ends and replaced by `decide`'s outcome."""
    calls: list[ToolCall] = []
    held: list[StreamEvent] = []
    async for event in events:
        if isinstance(event, ToolCallEvent):
            calls.append(event.call)
        elif calls or held or isinstance(event, Stop):
            held.append(event)  # a stop must follow the calls it ends
        else:
            yield event
    if calls:
        outcome = await decide(calls)
        affected = {call.choice for call in calls} | {call.choice for call in outcome.tool_calls}
        if outcome.text is not None:
            yield TextDelta(outcome.text, min(affected))
        for call in outcome.tool_calls:
            yield ToolCallEvent(call)
    for event in held:
        yield event
