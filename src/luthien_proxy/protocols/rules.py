"""`ToolCallRulesPolicy`: blocks tool calls matching a rule — the cheap, certain cases, no model needed.

A rule is a regular expression (`pattern`) or a named check (`check`, see `CHECKS`) tried on the
call's `name`, its canonical JSON `arguments` and every decoded string in them (optionally only for
the listed `tools`), so JSON escapes, tabs and newlines cannot hide a match. Rules run on the event
loop: write patterns that cannot backtrack badly (the shipped root-delete rule is a linear check).
Blocked calls are replaced by `block_message`, exactly as a monitor-based
protocol does, so it composes in front of one in a `ChainPolicy`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from luthien_proxy.model import Response, StreamEvent
from luthien_proxy.policies import LuthienPolicy, PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.alerts import AlertSender
from luthien_proxy.protocols.guard import guard_stream
from luthien_proxy.protocols.root_delete import deletes_root
from luthien_proxy.protocols.toolcalls import Outcome, ToolCall, apply_to_response

#: Named checks a rule may use instead of a pattern (`{check: recursive_root_delete}`).
CHECKS: dict[str, Callable[[str], bool]] = {"recursive_root_delete": deletes_root}
DEFAULT_RULES: list[dict[str, Any]] = [
    {"check": "recursive_root_delete", "reason": "recursive delete of the root"},
    {"pattern": r"(^|[\s\"'=:])/etc/", "reason": "touches /etc"},
    {"pattern": r"(~|\$HOME|/home/[^/\"]+|/root)/\.ssh\b", "reason": "touches ~/.ssh"},
]
DEFAULT_MESSAGE = "[luthien] A proposed tool call was blocked by a safety rule."
#: A call whose arguments are longer than this is blocked unread: a rule's time grows with the text.
DEFAULT_MAX_ARGUMENT_CHARS = 1_000_000


@dataclass(frozen=True)
class Rule:
    """One compiled rule: a pattern's search or a named check, over every text of a call."""

    test: Callable[[str], bool]
    reason: str
    tools: frozenset[str] | None

    def matches(self, call: ToolCall) -> bool:
        if self.tools is not None and call.name not in self.tools:
            return False
        return any(self.test(text) for text in call.texts())


def _compile(entry: Any) -> Rule:
    if isinstance(entry, str):
        entry = {"pattern": entry}
    if not isinstance(entry, dict):
        raise ValueError(f"each rule needs a 'pattern' string or a 'check' name, got {entry!r}")
    tools = entry.get("tools")
    tool_set = frozenset(tools) if tools else None
    if "check" in entry:
        check = CHECKS.get(entry["check"])
        if check is None:
            raise ValueError(f"unknown rule check {entry['check']!r}; known: {sorted(CHECKS)}")
        return Rule(check, str(entry.get("reason") or entry["check"]), tool_set)
    if not isinstance(entry.get("pattern"), str):
        raise ValueError(f"each rule needs a 'pattern' string or a 'check' name, got {entry!r}")
    try:
        pattern = re.compile(entry["pattern"])
    except re.error as exc:
        raise ValueError(f"rule {entry['pattern']!r} is not a valid regular expression: {exc}") from None
    return Rule(
        lambda text: pattern.search(text) is not None, str(entry.get("reason") or entry["pattern"]), tool_set
    )


class ToolCallRulesPolicy(LuthienPolicy):
    """Blocks any tool call that matches one of `rules` (defaults: rm -rf /, /etc, ~/.ssh)."""

    protocol = "rules"

    def __init__(
        self,
        rules: list[Any] | None = None,
        block_message: str = DEFAULT_MESSAGE,
        alerts: dict[str, Any] | None = None,
        max_argument_chars: int = DEFAULT_MAX_ARGUMENT_CHARS,
        *,
        host: PolicyHost,
    ) -> None:
        if rules is not None and (not isinstance(rules, list) or not rules):
            raise ValueError("rules must be a non-empty list")
        if not isinstance(max_argument_chars, int) or max_argument_chars < 1:
            raise ValueError(f"max_argument_chars must be a positive integer, got {max_argument_chars!r}")
        self.max_argument_chars = max_argument_chars
        self.rules = [_compile(entry) for entry in (rules if rules is not None else DEFAULT_RULES)]
        self.block_message = block_message
        self.host = host
        self.alerts = AlertSender.from_config(alerts, host)

    async def aclose(self) -> None:
        """Finish pending alerts, then close the host's HTTP client (shutdown, tests)."""
        await self.alerts.drain()
        await self.host.aclose()

    def _violation(self, call: ToolCall) -> str | None:
        """The reason of the first rule `call` breaks, or None."""
        if len(call.arguments) > self.max_argument_chars:
            return f"arguments longer than {self.max_argument_chars} characters are not checked"
        return next((rule.reason for rule in self.rules if rule.matches(call)), None)

    def check(self, calls: list[ToolCall], ctx: PolicyContext) -> Outcome:
        """Block the calls a rule matches; record a decision for every call."""
        released = []
        for call in calls:
            reason = self._violation(call)
            decision = {
                "protocol": self.protocol,
                "action": "block" if reason else "allow",
                "score": 1.0 if reason else 0.0,
                "threshold": None,
                "rule": reason,
                "tool_call": call.summary(),
            }
            ctx.record_decision(decision)
            if reason is None:
                released.append(call)
            else:
                self.alerts.send({**decision, "call_id": ctx.call_id, "trace_id": ctx.trace_id}, ctx)
        blocked = len(released) < len(calls)
        return Outcome(tool_calls=released, text=self.block_message if blocked else None)

    async def on_response(self, response: Response, ctx: PolicyContext) -> Response | None:
        calls = response.tool_calls()
        return apply_to_response(response, calls, self.check(calls, ctx)) if calls else None

    async def on_stream(
        self, events: AsyncIterator[StreamEvent], ctx: PolicyContext
    ) -> AsyncIterator[StreamEvent]:
        async def decide(calls: list[ToolCall]) -> Outcome:
            return self.check(calls, ctx)

        async for event in guard_stream(events, decide):
            yield event
