"""Runs each plan's episodes on its own stack, through both doors, streamed and not, and judges them."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from luthien_proxy.tooling.demo_upstream.protocol_models import BEHAVIOURS, scripted_behaviour
from luthien_proxy.tooling.scenarios.client import Delivery, deliver
from luthien_proxy.tooling.scenarios.episodes import Episode, Plan
from luthien_proxy.tooling.stack.running import Stack, luthien_up

DOORS = ("litellm", "native")
TERMINAL = {"allow", "block", "defer_to_trusted", "edit", "resample"}
UNFINISHED = {None, "pending", "started", "streaming"}
DECISION_WAIT_SECONDS = 10.0


@dataclass
class EpisodeResult:
    """One episode on one door and stream mode, and whether it met its expectation."""

    plan: str
    episode: Episode
    door: str
    stream: bool
    outcome: str
    leaked: list[str]
    latency_ms: float
    decisions: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.leaked and self.outcome == self.episode.expect

    def judge_latencies(self) -> list[float]:
        return [
            float(d["latency_ms"])
            for d in self.decisions
            if d.get("action") == "judge" and not d.get("error")
        ]

    def samples(self) -> int:
        return sum(len(d.get("samples") or ()) for d in self.decisions)

    def actions(self) -> list[str]:
        return [str(d.get("action")) for d in self.decisions if d.get("action") != "judge"]


def _outcome(episode: Episode, delivery: Delivery) -> str:
    """`released` when the scripted (original, seed 0) call reached the client unchanged."""
    found = scripted_behaviour(f"[agent:{episode.behaviour}]", 0)
    original = found[1] if found else BEHAVIOURS[episode.behaviour]
    return "released" if (original.name, original.arguments) in delivery.parsed_calls() else "stopped"


def _leaks(episode: Episode, delivery: Delivery) -> list[str]:
    """Forbidden strings found in any byte received, or in the reassembled calls and text."""
    assembled = delivery.text + "".join(arguments for _, arguments in delivery.calls)
    raw = delivery.raw.decode(errors="replace")
    return [s for s in episode.forbidden if s in raw or s in assembled]


def _decisions(stack: Stack, call_id: str | None) -> list[dict[str, Any]]:
    """The call's recorded decisions, waiting (bounded) until the call finished or a final action is in."""
    if not call_id:
        return []
    deadline = time.monotonic() + DECISION_WAIT_SECONDS
    decisions: list[dict[str, Any]] = []
    with stack.control_plane() as cp:
        while time.monotonic() < deadline:
            response = cp.get("/api/hooks/conversation", params={"call_id": call_id})
            if response.status_code == 200:
                call = response.json().get("call") or {}
                decisions = call.get("decisions") or []
                # Decisions are recorded before the call's completion, so a finished call has them all.
                finished = call.get("status") not in UNFINISHED
                if finished or any(d.get("action") in TERMINAL for d in decisions):
                    return decisions
            time.sleep(0.05)
    return decisions


def run_plan(plan: Plan, stack: Stack) -> list[EpisodeResult]:
    """Every episode of `plan` through both doors, non-streamed and streamed."""
    results = []
    for door in DOORS:
        # Warm-up, so the first measured request does not pay for connection set-up.
        stack.client(door).chat.completions.create(
            model="demo-echo", messages=[{"role": "user", "content": "hi"}]
        )
    for episode in plan.episodes:
        for door in DOORS:
            client = stack.client(door)
            for stream in (False, True):
                delivery = deliver(client, episode, stream)
                policed = plan.policy_file is not None or plan.policy_document is not None
                decisions = _decisions(stack, delivery.call_id) if policed and not delivery.error else []
                results.append(
                    EpisodeResult(
                        plan.name,
                        episode,
                        door,
                        stream,
                        _outcome(episode, delivery),
                        _leaks(episode, delivery),
                        delivery.latency_ms,
                        decisions,
                        delivery.error,
                    )
                )
    return results


def policy_path(plan: Plan, config_dir: Path, workdir: Path) -> Path:
    """The policy file for `plan`: a shipped example, an inline document written out, or NoOp."""
    if plan.policy_file:
        return config_dir / plan.policy_file
    document = plan.policy_document or {
        "policy": {"class": "luthien_proxy.policies:NoOpPolicy", "config": {}}
    }
    path = workdir / "policy.yaml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document))
    return path


def _alerts(stack: Stack, expected: int) -> int:
    """Alerts the demo upstream's sink received, waiting (bounded) for the expected number."""
    deadline = time.monotonic() + DECISION_WAIT_SECONDS
    with httpx.Client(timeout=5) as upstream:
        while True:
            received = len(upstream.get(f"{stack.upstream_url}/alerts").json()["alerts"])
            if received >= expected or time.monotonic() > deadline:
                return received
            time.sleep(0.05)


@dataclass
class PlanRun:
    """A plan's episode results, alerts (received, expected) and wall time."""

    plan: Plan
    results: list[EpisodeResult]
    alerts: tuple[int, int]
    seconds: float


def run_all(
    plans: list[Plan],
    config_dir: Path,
    litellm_config: Path,
    workdir: Path,
    progress: Callable[[str], None] = lambda _: None,
) -> list[PlanRun]:
    """Run every plan on a fresh stack, one after the other."""
    runs: list[PlanRun] = []
    for index, plan in enumerate(plans):
        plan_dir = workdir / f"{index:02d}"
        started = time.perf_counter()
        policy = policy_path(plan, config_dir, plan_dir)
        with luthien_up(plan_dir, policy, litellm_config, plan.env) as stack:
            results = run_plan(plan, stack)
            escalations = sum(1 for r in results for d in r.decisions if "audit_requested" in d)
            expected = escalations if "webhooks" in policy.read_text() else 0
            alerts = (_alerts(stack, expected), expected)
        runs.append(PlanRun(plan, results, alerts, time.perf_counter() - started))
        progress(f"{plan.name}: {runs[-1].seconds:.1f}s")
    return runs
