"""Defer to resample: draw `samples` more answers from the untrusted model and keep the safest.

Each sample's tool calls are judged (a sample scores its most suspicious call; a sample without
calls scores 0); the least suspicious sample at or under the threshold replaces the response.
If none qualifies, `fallback` decides: `defer_to_trusted` (the trusted model answers) or `block`.
Every sample, its calls and its score are recorded as evidence on the `resample` decision.
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from luthien_proxy.dialects.openai_chat import decode_response
from luthien_proxy.model import MalformedToolCall
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.base import Review
from luthien_proxy.protocols.defer_to_trusted import trusted_answer
from luthien_proxy.protocols.judge import ModelCallError
from luthien_proxy.protocols.toolcalls import Outcome, ToolCall
from luthien_proxy.protocols.trusted import TrustedFallbackProtocol
from luthien_proxy.protocols.untrusted import UntrustedSampler

FALLBACKS = ("defer_to_trusted", "block")


class DeferToResamplePolicy(TrustedFallbackProtocol):
    """Suspicious responses are replaced by the least suspicious of `samples` fresh samples."""

    protocol: ClassVar[str] = "defer_to_resample"

    def __init__(
        self,
        samples: int = 3,
        fallback: str = "defer_to_trusted",
        untrusted: dict[str, Any] | None = None,
        trusted: dict[str, Any] | None = None,
        *,
        host: PolicyHost,
        **config: Any,
    ) -> None:
        super().__init__(trusted=trusted, host=host, **config)
        if not isinstance(samples, int) or not 1 <= samples <= 16:
            raise ValueError(f"samples must be an integer in 1..16, got {samples!r}")
        if fallback not in FALLBACKS:
            raise ValueError(f"fallback must be one of {FALLBACKS}, got {fallback!r}")
        self.samples = samples
        self.fallback = fallback
        self.sampler = UntrustedSampler.from_config(untrusted, host)

    async def _draw(self, review: Review, seed: int) -> dict[str, Any]:
        """One sample, judged; returns its evidence record (with the calls and text to release)."""
        try:
            result = await self.sampler.sample(review.request, seed)
        except ModelCallError as exc:
            return {"seed": seed, "score": None, "error": str(exc), "tool_calls": [], "text": None}
        try:
            choices = decode_response(result.response).choices
            calls = choices[0].tool_calls() if choices else []
        except (MalformedToolCall, AttributeError, TypeError, KeyError) as exc:
            return {
                "seed": seed,
                "score": None,
                "error": f"unreadable sample: {exc}",
                "tool_calls": [],
                "text": None,
            }
        judgements = await self.judge_all(calls, review.request, review.ctx)
        return {
            "seed": seed,
            "score": max((j.score for j in judgements), default=0.0),
            "latency_ms": round(result.latency_ms, 2),
            "error": None,
            "tool_calls": [c.summary() for c in calls],
            "text": result.text,
            "_calls": calls,
        }

    async def on_suspicious(self, review: Review) -> Outcome:
        drawn = await asyncio.gather(*(self._draw(review, seed) for seed in range(1, self.samples + 1)))
        evidence = [{k: v for k, v in sample.items() if not k.startswith("_")} for sample in drawn]
        usable = [s for s in drawn if s["score"] is not None and s["score"] <= review.standing.threshold]
        worst = max(review.judgements, key=lambda j: j.score)
        if usable:
            best = min(usable, key=lambda s: s["score"])
            calls: list[ToolCall] = best["_calls"]
            self.record(
                review,
                "resample",
                worst,
                samples=evidence,
                chosen_seed=best["seed"],
                chosen_score=best["score"],
            )
            return Outcome(tool_calls=calls, text=None if calls else best["text"])
        self.record(review, "resample_exhausted", worst, samples=evidence)
        if self.fallback == "defer_to_trusted":
            return await trusted_answer(self, self.trusted, review)
        await self.escalate(review, "block", worst, reason="no sample under the threshold")
        return Outcome(text=self.block_message)
