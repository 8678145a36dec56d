"""Defer to trusted: above the threshold, the trusted model answers the request instead.

The untrusted response's tool calls are all withheld and the trusted model's text answer is sent
in their place. If the trusted model is unavailable too, the calls are blocked with the
configured `block_message`.
"""

from __future__ import annotations

from typing import ClassVar

from luthien_proxy.protocols.base import Review, ToolCallProtocol
from luthien_proxy.protocols.judge import ModelCallError
from luthien_proxy.protocols.toolcalls import Outcome
from luthien_proxy.protocols.trusted import TrustedFallbackProtocol, TrustedModel


async def trusted_answer(protocol: ToolCallProtocol, trusted: TrustedModel, review: Review) -> Outcome:
    """Replace the whole response with the trusted model's answer (block if it fails); recorded."""
    worst = max(review.judgements, key=lambda j: j.score)
    replaced = [call.summary() for call in review.calls]
    try:
        result = await trusted.answer(review.request)
    except ModelCallError as exc:
        await protocol.escalate(review, "block", worst, replaced=replaced, trusted_error=str(exc))
        return Outcome(text=protocol.block_message)
    await protocol.escalate(
        review,
        "defer_to_trusted",
        worst,
        replaced=replaced,
        trusted_model=trusted.client.model,
        trusted_latency_ms=round(result.latency_ms, 2),
        trusted_answer=result.text[:300],
    )
    return Outcome(text=result.text)


class DeferToTrustedPolicy(TrustedFallbackProtocol):
    """Suspicious responses are answered by the trusted model."""

    protocol: ClassVar[str] = "defer_to_trusted"

    async def on_suspicious(self, review: Review) -> Outcome:
        return await trusted_answer(self, self.trusted, review)
