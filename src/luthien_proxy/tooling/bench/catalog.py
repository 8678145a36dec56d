"""The benchmark's targets: which server answers, in which API, under which policy, asked for what,
held against which baseline (the processes behind them are started by `targets.Stack`)."""

from __future__ import annotations

from dataclasses import dataclass

from luthien_proxy.tooling.bench.apis import ANTHROPIC, OPENAI, RESPONSES


@dataclass(frozen=True)
class TargetSpec:
    """What a target is: which server answers (`kind`), in which API, under which policy, asked for
    text or (`tool_calls`) for demo-agent's one harmless tool call, and the target it is held
    against (`baseline`: the same requests one layer down)."""

    key: str
    title: str
    kind: str  # "upstream", "litellm", "litellm+luthien" or "native"
    api: str = OPENAI
    policy: str | None = None  # a key of _POLICIES, for targets with a control plane
    baseline: str | None = None
    tool_calls: bool = False

    @property
    def upper(self) -> bool:
        """Whether its answers come back upper-cased."""
        return self.policy == "all_caps"

    @property
    def active(self) -> bool:
        """Whether its policy implements hooks (anything but NoOp): what users run."""
        return self.policy not in (None, "noop")


TARGETS: dict[str, TargetSpec] = {
    spec.key: spec
    for spec in (
        TargetSpec("A", "direct upstream (demo-upstream), OpenAI chat", "upstream"),
        TargetSpec("B", "bare LiteLLM proxy", "litellm", baseline="A"),
        TargetSpec("C", "LiteLLM + Luthien callback, NoOp", "litellm+luthien", policy="noop", baseline="B"),
        TargetSpec("D", "native front door, OpenAI chat, NoOp", "native", policy="noop", baseline="A"),
        TargetSpec("E", "native front door, OpenAI chat, AllCaps", "native", policy="all_caps", baseline="A"),
        TargetSpec("F", "direct upstream (demo-upstream), Anthropic Messages", "upstream", ANTHROPIC),
        TargetSpec("G", "native front door, Anthropic Messages, NoOp", "native", ANTHROPIC, "noop", "F"),
        TargetSpec(
            "H", "native front door, Anthropic Messages, AllCaps", "native", ANTHROPIC, "all_caps", "F"
        ),
        TargetSpec("I", "direct upstream (demo-upstream), OpenAI Responses", "upstream", RESPONSES),
        TargetSpec("J", "native front door, OpenAI Responses, NoOp", "native", RESPONSES, "noop", "I"),
        TargetSpec("K", "native front door, OpenAI Responses, AllCaps", "native", RESPONSES, "all_caps", "I"),
        TargetSpec(
            "L", "LiteLLM + Luthien callback, AllCaps", "litellm+luthien", policy="all_caps", baseline="B"
        ),
        TargetSpec("M", "bare LiteLLM proxy, tool-call answers", "litellm", baseline="O", tool_calls=True),
        TargetSpec(
            "N",
            "LiteLLM + Luthien callback, tool guard, tool-call answers",
            "litellm+luthien",
            policy="tool_guard",
            baseline="M",
            tool_calls=True,
        ),
        TargetSpec(
            "O",
            "direct upstream (demo-upstream), OpenAI chat, tool-call answers",
            "upstream",
            tool_calls=True,
        ),
        TargetSpec(
            "P",
            "native front door, OpenAI chat, tool guard, tool-call answers",
            "native",
            policy="tool_guard",
            baseline="O",
            tool_calls=True,
        ),
        TargetSpec(
            "Q",
            "direct upstream (demo-upstream), Anthropic Messages, tool-call answers",
            "upstream",
            ANTHROPIC,
            tool_calls=True,
        ),
        TargetSpec(
            "R",
            "native front door, Anthropic Messages, tool guard, tool-call answers",
            "native",
            ANTHROPIC,
            "tool_guard",
            "Q",
            tool_calls=True,
        ),
        TargetSpec(
            "S",
            "direct upstream (demo-upstream), OpenAI Responses, tool-call answers",
            "upstream",
            RESPONSES,
            tool_calls=True,
        ),
        TargetSpec(
            "T",
            "native front door, OpenAI Responses, tool guard, tool-call answers",
            "native",
            RESPONSES,
            "tool_guard",
            "S",
            tool_calls=True,
        ),
    )
}


def parse_target_keys(raw: str) -> list[str]:
    """`A,C,D` → ['A', 'C', 'D'], validated, in canonical order."""
    keys = {part.strip().upper() for part in raw.split(",") if part.strip()}
    unknown = keys - TARGETS.keys()
    if unknown or not keys:
        raise ValueError(f"--targets takes a comma-separated subset of {','.join(TARGETS)}, got {raw!r}")
    return [k for k in TARGETS if k in keys]
