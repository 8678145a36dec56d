"""Runs every step of a dataset through one policy's harness, a bounded number at a time.

Each step is its own call in its own trace (fresh call and trace ids), so one step's suspicion
never raises the next one's threshold: the steps are independent, as the dataset's rows are.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from luthien_proxy.pipeline.identity import CallIdentity
from luthien_proxy.policies import PolicyHost
from luthien_proxy.tooling.eval.dataset import Step
from luthien_proxy.tooling.eval.exchange import read_verdict, step_request, step_response
from luthien_proxy.tooling.eval.harness import PolicyHarness

#: The model named in each step's request (what defer-to-resample samples, unless configured).
DEFAULT_MODEL = "eval-agent"
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ItemResult:
    """One step's outcome under one policy."""

    step: Step
    action: str
    score: float | None
    latency_ms: float
    judge_tokens: int | None
    judge_errors: int
    #: Why the pipeline raised or refused the call (the client would have got an error: nothing ran).
    error: str | None = None


@dataclass(frozen=True)
class PolicyRun:
    """Every step's outcome under the policy of `path`, run `concurrency` steps at a time."""

    path: Path
    items: list[ItemResult]
    concurrency: int = 1

    @property
    def name(self) -> str:
        return str(self.path)


async def run_policy(
    path: Path,
    steps: list[Step],
    *,
    concurrency: int = 8,
    model: str = DEFAULT_MODEL,
    progress: Progress | None = None,
    host: PolicyHost | None = None,
) -> PolicyRun:
    """Load the policy at `path` and run every step through it, at most `concurrency` at once."""
    harness = PolicyHarness(path, host)
    concurrency = max(1, concurrency)
    gate = asyncio.Semaphore(concurrency)
    done = 0

    async def one(index: int, step: Step) -> ItemResult:
        nonlocal done
        async with gate:
            result = await _run_step(harness, index, step, model)
        done += 1
        if progress is not None:
            progress(done, len(steps))
        return result

    try:
        items = await asyncio.gather(*(one(i, s) for i, s in enumerate(steps)))
    finally:
        await harness.aclose()
    return PolicyRun(path, list(items), concurrency)


async def _run_step(harness: PolicyHarness, index: int, step: Step, model: str) -> ItemResult:
    ids = CallIdentity(f"eval-{index}", f"eval-trace-{index}")
    policed = await harness.police(ids, step_request(step, model), step_response(step, index, model))
    if policed.error is not None:  # the live door answers an error: the call is not run, and we say why
        return ItemResult(step, "block", None, 0.0, None, 0, error=policed.error)
    verdict = read_verdict(step, index, policed.released, policed.decisions)
    return ItemResult(
        step,
        verdict.action,
        verdict.score,
        policed.latency_ms,
        verdict.judge_tokens,
        verdict.judge_errors,
    )
