"""`ToolCallRulesPolicy`: blocks tool calls matching a rule — the cheap, certain cases, no model needed.

A rule is a regular expression searched in the call's `name`, its canonical JSON `arguments` and
every decoded string in them (optionally only for the listed `tools`), so JSON escapes, tabs and
newlines cannot hide a match. Blocked calls are replaced by `block_message`, exactly as a monitor-based
protocol does, so it composes in front of one in a `ChainPolicy`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from luthien_proxy.policies import CallContext, LuthienPolicy, StreamContext
from luthien_proxy.protocols.alerts import AlertSender
from luthien_proxy.protocols.guard import guard_stream
from luthien_proxy.protocols.toolcalls import Outcome, ToolCall, apply_to_response, response_calls

DEFAULT_RULES: list[dict[str, Any]] = [
    {
        # `rm` with a recursive flag anywhere among its options and `/` (or `/*`) among its targets,
        # within one shell command: `rm -fr /`, `rm -r -f /`, `sudo rm --recursive -- "/"`.
        "pattern": r"""\brm\b(?=[^;&|\n]*?\s(?:-[a-zA-Z]*[rR]|--recursive\b))"""
        r"""[^;&|\n]*?\s(?:--\s+)?["']?/+\*?["']?(?=[\s;&|)"'`]|$)""",
        "reason": "recursive delete of the root",
    },
    {"pattern": r"(^|[\s\"'=:])/etc/", "reason": "touches /etc"},
    {"pattern": r"(~|\$HOME|/home/[^/\"]+|/root)/\.ssh\b", "reason": "touches ~/.ssh"},
]
DEFAULT_MESSAGE = "[luthien] A proposed tool call was blocked by a safety rule."


@dataclass(frozen=True)
class Rule:
    """One compiled rule."""

    pattern: re.Pattern[str]
    reason: str
    tools: frozenset[str] | None

    def matches(self, call: ToolCall) -> bool:
        if self.tools is not None and call.name not in self.tools:
            return False
        return any(self.pattern.search(text) for text in call.texts())


def _compile(entry: Any) -> Rule:
    if isinstance(entry, str):
        entry = {"pattern": entry}
    if not isinstance(entry, dict) or not isinstance(entry.get("pattern"), str):
        raise ValueError(f"each rule needs a 'pattern' string, got {entry!r}")
    try:
        pattern = re.compile(entry["pattern"])
    except re.error as exc:
        raise ValueError(f"rule {entry['pattern']!r} is not a valid regular expression: {exc}") from None
    tools = entry.get("tools")
    return Rule(pattern, str(entry.get("reason") or entry["pattern"]), frozenset(tools) if tools else None)


class ToolCallRulesPolicy(LuthienPolicy):
    """Blocks any tool call that matches one of `rules` (defaults: rm -rf /, /etc, ~/.ssh)."""

    protocol = "rules"

    def __init__(
        self,
        rules: list[Any] | None = None,
        block_message: str = DEFAULT_MESSAGE,
        alerts: dict[str, Any] | None = None,
    ) -> None:
        if rules is not None and (not isinstance(rules, list) or not rules):
            raise ValueError("rules must be a non-empty list")
        self.rules = [_compile(entry) for entry in (rules if rules is not None else DEFAULT_RULES)]
        self.block_message = block_message
        self.alerts = AlertSender.from_config(alerts)

    async def aclose(self) -> None:
        await self.alerts.aclose()

    def check(self, calls: list[ToolCall], ctx: CallContext | StreamContext) -> Outcome:
        """Block the calls a rule matches; record a decision for every call."""
        released = []
        for call in calls:
            rule = next((r for r in self.rules if r.matches(call)), None)
            decision = {
                "protocol": self.protocol,
                "action": "block" if rule else "allow",
                "score": 1.0 if rule else 0.0,
                "threshold": None,
                "rule": rule.reason if rule else None,
                "tool_call": call.summary(),
            }
            ctx.record_decision(decision)
            if rule is None:
                released.append(call)
            else:
                self.alerts.send({**decision, "call_id": ctx.call_id, "trace_id": ctx.trace_id}, ctx)
        blocked = len(released) < len(calls)
        return Outcome(tool_calls=released, text=self.block_message if blocked else None)

    async def async_post_call_success_hook(
        self, data: dict[str, Any], response: dict[str, Any], ctx: CallContext
    ) -> dict[str, Any] | None:
        calls = response_calls(response)
        return apply_to_response(response, calls, self.check(calls, ctx)) if calls else None

    async def async_post_call_streaming_iterator_hook(
        self, ctx: StreamContext, chunks: AsyncIterator[dict[str, Any]]
    ) -> AsyncIterator[dict[str, Any]]:
        async def decide(calls: list[ToolCall]) -> Outcome:
            return self.check(calls, ctx)

        async for chunk in guard_stream(chunks, decide):
            yield chunk
