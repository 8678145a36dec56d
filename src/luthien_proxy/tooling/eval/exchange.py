"""A step as the call a live agent would make, and what the policy did to it, read back.

The request is the step's `messages` with a tools list offering its tool; the model's answer is an
OpenAI chat completion whose assistant message carries the step's tool call. What the policy did
is read from the decisions it recorded on the call and from the response it released: a call
still there unchanged was allowed (or sent to audit, when a decision says so), a call gone or
changed was stopped, named by the strongest decision recorded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from luthien_proxy.tooling.eval.actions import action_of, strongest
from luthien_proxy.tooling.eval.dataset import Step

Json = dict[str, Any]


@dataclass(frozen=True)
class Verdict:
    """What the policy did to one step's call, and what it cost."""

    action: str
    #: The monitor's score for the step's call; None when nothing scored it.
    score: float | None
    #: Tokens the judge model reported (prompt + completion); None when a model judge recorded no usage.
    judge_tokens: int | None
    #: Judge calls that failed (the score is then the configured fallback).
    judge_errors: int


def call_id_of(index: int) -> str:
    """The id of step `index`'s tool call in the model's answer."""
    return f"call_eval_{index}"


def step_request(step: Step, model: str) -> Json:
    """The chat request the agent sent: the step's context, offering its tool (and any tool it
    called earlier in the context)."""
    names = [step.tool_name]
    for message in step.messages:
        for call in message.get("tool_calls") or ():
            name = (call.get("function") or {}).get("name") if isinstance(call, dict) else None
            if isinstance(name, str) and name not in names:
                names.append(name)
    tools = [
        {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}} for name in names
    ]
    return {"model": model, "messages": step.messages, "tools": tools}


def step_response(step: Step, index: int, model: str) -> Json:
    """The model's answer proposing the step's call, as an OpenAI chat completion."""
    call = {
        "id": call_id_of(index),
        "type": "function",
        "function": {"name": step.tool_name, "arguments": json.dumps(step.arguments)},
    }
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {
        "id": f"chatcmpl-eval-{index}",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
    }


def released_unchanged(step: Step, released: Json | None) -> bool:
    """Whether the response the client got still proposes the step's call as it was."""
    for choice in (released or {}).get("choices") or ():
        for call in (choice.get("message") or {}).get("tool_calls") or ():
            function = call.get("function") or {}
            if function.get("name") == step.tool_name and _arguments(function) == step.arguments:
                return True
    return False


def _arguments(function: Json) -> Any:
    try:
        return json.loads(function.get("arguments") or "null")
    except (TypeError, ValueError):
        return None


def read_verdict(step: Step, index: int, released: Json | None, decisions: list[Json]) -> Verdict:
    """The step's verdict from the released response (None: the call was refused) and the
    decisions recorded on its call."""
    own = call_id_of(index)
    judged = [d for d in decisions if d.get("action") == "judge"]
    # Resampling judges fresh calls too: the step's score is its own call's.
    mine = [d for d in judged if (d.get("tool_call") or {}).get("id") == own] or judged
    scores = [float(d["score"]) for d in mine if isinstance(d.get("score"), int | float)]
    if not scores:
        # A call a rule stopped before any judge saw it carries the rule's score (1.0 / 0.0).
        scores = [float(d["score"]) for d in decisions if isinstance(d.get("score"), int | float)]
    # An `allow` says nothing here: the released call shows whether the step's call went through.
    actions = [a for d in decisions if (a := action_of(d)) is not None and a != "allow"]
    if released_unchanged(step, released):
        action = "audit" if "audit" in actions else "allow"
    elif actions:
        action = strongest(actions)
    else:
        # Gone without a word: blocked; there but changed: edited.
        action = "edit" if _proposes(step, released) else "block"
    return Verdict(
        action=action,
        score=max(scores) if scores else None,
        judge_tokens=_tokens(judged),
        judge_errors=sum(1 for d in judged if d.get("error")),
    )


def _proposes(step: Step, released: Json | None) -> bool:
    """Whether the released response still proposes a call to the step's tool (changed)."""
    return any(
        ((call.get("function") or {}).get("name") == step.tool_name)
        for choice in (released or {}).get("choices") or ()
        for call in (choice.get("message") or {}).get("tool_calls") or ()
    )


def _tokens(judged: list[Json]) -> int | None:
    """Tokens the judge calls used (each decision's `input_tokens` + `output_tokens`); 0 when no
    model judged (the command monitor); None when a model judged but its endpoint reported none."""
    total = 0
    for decision in judged:
        if decision.get("monitor") == "command":
            continue
        counts = [decision.get(k) for k in ("input_tokens", "output_tokens")]
        if not any(isinstance(c, int) for c in counts):
            return None
        total += sum(c for c in counts if isinstance(c, int))
    return total
