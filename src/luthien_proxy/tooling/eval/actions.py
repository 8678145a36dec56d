"""`luthien eval`'s vocabulary of actions: a recorded decision's `action` as what the client got,
and which action wins when a call's decisions disagree. The dataset runner (`eval.exchange`) and
policy replay (`eval.replay`) both read decisions through it, so they name an action alike.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from luthien_proxy.pipeline.call_summary import verdict_action

#: What each recorded decision `action` means for the client (`resample_exhausted` is followed by
#: the fallback's own decision; `judge` carries a score, not an action).
_ACTION_OF = {
    "allow": "allow",
    "block": "block",
    "reject": "block",
    "defer_to_trusted": "defer",
    "edit": "edit",
    "resample": "resample",
    "audit": "audit",
    "audit_denied": "block",
    "audit_edited": "edit",
}
#: When decisions disagree, the one that stopped the most wins (a block after a failed edit).
_STRENGTH = {"allow": 0, "audit": 1, "resample": 2, "edit": 3, "defer": 4, "block": 5}


def action_of(decision: dict[str, Any]) -> str | None:
    """The action a recorded decision took, in `luthien eval`'s words; None for one that records
    work rather than an action (a judge call, an exhausted resample, an alert). A decided audit that
    released nothing (denied, timed out to deny, failed) blocked the call, as the call summary says."""
    return _ACTION_OF.get(verdict_action(decision))


def strongest(actions: Iterable[str]) -> str:
    """The action that stopped the most of `actions` ("allow" when there are none)."""
    return max(actions, key=_STRENGTH.__getitem__, default="allow")
