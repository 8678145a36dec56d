"""Trusted editing: the trusted model rewrites each flagged tool call into a safe one.

Unflagged calls pass unchanged; a flagged call is replaced by the trusted model's rewrite (with a
fresh call id), or blocked with `block_message` when the trusted model fails or answers unusably.
"""

from __future__ import annotations

from typing import ClassVar

from luthien_proxy.protocols.base import Review
from luthien_proxy.protocols.judge import ModelCallError
from luthien_proxy.protocols.toolcalls import Outcome, ToolCall
from luthien_proxy.protocols.trusted import TrustedFallbackProtocol


class TrustedEditingPolicy(TrustedFallbackProtocol):
    """Suspicious calls are rewritten by the trusted model before the client sees them."""

    protocol: ClassVar[str] = "trusted_editing"

    async def on_suspicious(self, review: Review) -> Outcome:
        flagged = {id(j) for j in review.flagged()}
        released: list[ToolCall] = []
        blocked = False
        for judgement in review.judgements:
            if id(judgement) not in flagged:
                self.record(review, "allow", judgement)
                released.append(judgement.call)
                continue
            try:
                edited, result = await self.trusted.rewrite(judgement.call, review.request)
            except ModelCallError as exc:
                await self.escalate(review, "block", judgement, trusted_error=str(exc))
                blocked = True
                continue
            self.record(
                review,
                "edit",
                judgement,
                edited_tool_call=edited.summary(),
                trusted_model=self.trusted.client.model,
                trusted_latency_ms=round(result.latency_ms, 2),
            )
            released.append(edited)
        return Outcome(tool_calls=released, text=self.block_message if blocked else None)
