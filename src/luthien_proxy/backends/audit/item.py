"""An audit item: one tool call held for a person's decision, as stored and as the API shows it."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Final, Literal

Status = Literal["pending", "approved", "denied", "edited", "timed_out", "failed"]
STATUSES: Final[tuple[Status, ...]] = ("pending", "approved", "denied", "edited", "timed_out", "failed")
#: What a person may decide, and the status each leaves the item in.
DECISIONS: Final = {"approve": "approved", "deny": "denied", "edit": "edited"}
ON_TIMEOUT: Final = ("deny", "approve")

#: Every audit item's creation and decision, for views that list the queue live.
AUDITS_CHANNEL: Final = "luthien:audits"


def item_channel(item_id: str) -> str:
    """Where one item's decision is announced (a waiting call listens here)."""
    return f"luthien:audit:{item_id}"


def new_item_id() -> str:
    return uuid.uuid4().hex[:16]


@dataclass(frozen=True)
class AuditItem:
    """A held tool call: who proposed it, what the monitor said, and (once decided) the decision.

    `tool_call` is `{"id", "name", "arguments"}` with the arguments parsed; `conversation` a short
    excerpt (`[{"role", "text"}]`) of the turns before it; times are wall-clock seconds."""

    call_id: str
    trace_id: str | None
    key: str
    protocol: str
    tool_call: dict[str, Any]
    score: float
    reason: str
    created_at: float
    deadline: float
    on_timeout: str = "deny"
    conversation: list[dict[str, str]] = field(default_factory=list[dict[str, str]])
    id: str = field(default_factory=new_item_id)
    status: Status = "pending"
    decided_at: float | None = None
    decided_by: str | None = None
    comment: str | None = None
    edited_arguments: dict[str, Any] | None = None
    #: Why an item failed (its call was no longer waiting), or None.
    failure: str | None = None

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    def decided(
        self,
        status: Status,
        at: float,
        by: str,
        comment: str | None = None,
        arguments: dict[str, Any] | None = None,
        failure: str | None = None,
    ) -> AuditItem:
        return replace(
            self,
            status=status,
            decided_at=at,
            decided_by=by,
            comment=comment,
            edited_arguments=arguments,
            failure=failure,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> AuditItem:
        return cls(**{k: v for k, v in value.items() if k in _FIELDS})

    def public(self, now: float) -> dict[str, Any]:
        """The item as the API answers it: its fields plus `waited_s` (until now, or its decision)."""
        end = self.decided_at if self.decided_at is not None else now
        return {**self.to_json(), "waited_s": round(max(end - self.created_at, 0.0), 3)}


_FIELDS: Final = frozenset(AuditItem.__dataclass_fields__)
