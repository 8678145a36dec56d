"""The `audit` action: a tool call the protocol would block (or whose score is in a band) is held
for a person, who approves, denies or edits it; the call waits meanwhile (`audit:` in the config).

The held call becomes an item of the host's `AuditQueue` (shared by every instance); each new item
is sent to the configured webhooks as a Slack-compatible `{"text": ...}` with a link to the queue.
Every step is recorded on the call: `audit` when held, then `audit_approved`, `audit_denied`,
`audit_edited`, `audit_timed_out` or `audit_failed`, with who, when and why.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, Final

from luthien_proxy.backends.audit import ON_TIMEOUT, AuditItem
from luthien_proxy.model import MalformedToolCall, Request, ToolCall, canonical_arguments
from luthien_proxy.policies.base import PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.alerts import AlertSender
from luthien_proxy.protocols.config_section import ConfigSection
from luthien_proxy.protocols.monitor import Judgement
from luthien_proxy.protocols.state import SessionRule

WHEN: Final = ("flagged", "band")
#: Where the control plane's UI is, for the webhook's link (the environment names it when set).
DEFAULT_URL: Final = "${LUTHIEN_CONTROL_PLANE_URL}"
FALLBACK_URL: Final = "http://127.0.0.1:8081"
EXCERPT_CHARS: Final = 600


def conversation_excerpt(request: Request, turns: int) -> list[dict[str, str]]:
    """The last `turns` messages as `{"role", "text"}`, each clipped (a person reads it, quickly)."""
    messages = request.messages[-turns:] if turns > 0 else []
    excerpt = []
    for message in messages:
        text = message.text()
        clipped = text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"
        excerpt.append({"role": message.role or "?", "text": clipped})
    return excerpt


class AuditSection(ConfigSection):
    """`audit: {when: flagged | band, band: [low, high], timeout_seconds, on_timeout, webhooks, url,
    session: {after_total, caller_after_total, then: audit | stop}}`."""

    section = "audit"

    def __init__(
        self,
        when: str = "flagged",
        band: list[float] | None = None,
        timeout_seconds: float = 300,
        on_timeout: str = "deny",
        webhooks: list[str] | None = None,
        url: str = DEFAULT_URL,
        conversation_turns: int = 4,
        session: dict[str, Any] | None = None,
        *,
        host: PolicyHost,
    ) -> None:
        super().__init__(host=host)
        if when not in WHEN:
            raise ValueError(f"audit.when must be one of {WHEN}, got {when!r}")
        if when == "band":
            valid = (
                isinstance(band, list) and len(band) == 2 and all(isinstance(b, int | float) for b in band)
            )
            if not valid or not 0 <= band[0] <= band[1] <= 1:  # type: ignore[index]
                raise ValueError("audit.band must be [low, high] with 0 <= low <= high <= 1")
        elif band is not None:
            raise ValueError("audit.band applies only with audit.when: band")
        if not isinstance(timeout_seconds, int | float) or timeout_seconds <= 0:
            raise ValueError("audit.timeout_seconds must be a number > 0")
        if on_timeout not in ON_TIMEOUT:
            raise ValueError(f"audit.on_timeout must be one of {ON_TIMEOUT}, got {on_timeout!r}")
        if not isinstance(conversation_turns, int) or conversation_turns < 0:
            raise ValueError("audit.conversation_turns must be an integer >= 0")
        self.when = when
        self.band = (float(band[0]), float(band[1])) if band else None
        self.timeout_seconds = float(timeout_seconds)
        self.on_timeout = on_timeout
        self.url = url
        self.conversation_turns = conversation_turns
        self.notifier = AlertSender(webhooks, host=host)
        self.session = SessionRule.from_config(session)

    def selects(self, score: float, threshold: float) -> bool:
        """Whether a call with `score` is held: above the threshold, or inside the band."""
        if self.band is not None:
            return self.band[0] <= score <= self.band[1]
        return score > threshold

    def link(self, item_id: str) -> str:
        base = self.host.expand(self.url)
        if "$" in base or not base:
            base = FALLBACK_URL
        return f"{base.rstrip('/')}/ui/audits#{item_id}"

    async def hold(
        self, protocol: str, judgement: Judgement, ctx: PolicyContext, why: str | None = None
    ) -> AuditItem:
        """Create the item, notify the webhooks, and wait for its decision (or its deadline); `why`
        says why a call is held whatever its score (a held session)."""
        audits = self.host.audits
        assert audits is not None, "hold() needs the host's audit queue"
        call = judgement.call
        now = self.host.clock()
        item = AuditItem(
            call_id=ctx.call_id,
            trace_id=ctx.trace_id,
            key=ctx.caller,
            protocol=protocol,
            tool_call={
                "id": call.id,
                "name": call.name,
                "arguments": call.parsed_arguments(),
                "kind": call.kind,
            },
            score=judgement.score,
            reason=f"{why}; monitor: {judgement.reason}" if why else judgement.reason,
            created_at=now,
            deadline=now + self.timeout_seconds,
            on_timeout=self.on_timeout,
            conversation=conversation_excerpt(ctx.request, self.conversation_turns),
        )
        await audits.create(item)
        ctx.record_decision(
            {
                "protocol": protocol,
                "action": "audit",
                "audit_id": item.id,
                "score": judgement.score,
                "tool_call": call.summary(),
                "reason": why or f"held for a person's decision (up to {self.timeout_seconds:g}s)",
            }
        )
        self._notify(item, ctx)
        return await audits.await_decision(item.id)

    def _notify(self, item: AuditItem, ctx: PolicyContext) -> None:
        name = item.tool_call["name"]
        text = (
            f"Luthien holds a tool call for audit: `{name}` (score {item.score:.2f}: {item.reason}). "
            f"Approve or deny it: <{self.link(item.id)}>"
        )
        self.notifier.send({"text": text, "audit_id": item.id, "call_id": item.call_id}, ctx)


def released_call(call: ToolCall, item: AuditItem) -> ToolCall | None:
    """What a decided item releases: the call (approved, timed out to approve), the call with the
    edited arguments (re-canonicalised; unusable ones release nothing), or None (denied)."""
    if item.status == "approved" or (item.status == "timed_out" and item.on_timeout == "approve"):
        return call
    if item.status != "edited" or item.edited_arguments is None:
        return None
    if call.kind == "custom":
        text = item.edited_arguments.get("input")
        return dataclasses.replace(call, arguments=text) if isinstance(text, str) else None
    try:
        arguments = canonical_arguments(json.dumps(item.edited_arguments))
    except (MalformedToolCall, TypeError, ValueError):
        return None
    return dataclasses.replace(call, arguments=arguments)


def decision_record(
    protocol: str, item: AuditItem, call: ToolCall, released: ToolCall | None
) -> dict[str, Any]:
    """The recorded decision for a decided item (`audit_<status>`), with who, when and why."""
    who = item.decided_by or "?"
    reason = {
        "approved": f"approved by {who}",
        "denied": f"denied by {who}",
        "edited": f"edited and approved by {who}"
        if released
        else f"edited by {who}, arguments unusable: denied",
        "timed_out": f"no decision in time: {'approved' if released else 'denied'} (on_timeout)",
        "failed": f"failed: {item.failure}",
    }.get(item.status, item.status)
    if item.comment:
        reason += f": {item.comment}"
    record: dict[str, Any] = {
        "protocol": protocol,
        "action": f"audit_{item.status}",
        "audit_id": item.id,
        "score": item.score,
        "tool_call": call.summary(),
        "decided_by": item.decided_by,
        "decided_at": item.decided_at,
        "comment": item.comment,
        "released": released is not None,
        "reason": reason,
    }
    if released is not None and released != call:
        record["edited_tool_call"] = released.summary()
    return record
