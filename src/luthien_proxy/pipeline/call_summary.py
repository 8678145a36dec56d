"""What became of a call, in one vocabulary: the outcome, the decision in words, and the summary the
index lists.

`CallTally` folds a call's conversation events (`derive_events`) as they happen. The pipeline keeps
one per call and records its `summary()` when the call ends (`CallRecorder`); the read side folds
the replayed events of a call with the same class, so the API, the index and the call view can
never word an outcome differently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from luthien_proxy.dialects.json_values import json_list, json_object
from luthien_proxy.dialects.registry import UnknownDialect, dialect_named
from luthien_proxy.model import MalformedToolCall
from luthien_proxy.pipeline.call_timing import CallTiming
from luthien_proxy.wire import DIALECT_KEY, DIALECT_OPENAI_CHAT, DOOR_KEY, DOOR_LITELLM

#: Every outcome a call can have, with the words the UI shows for it. A finished call has exactly one.
OUTCOMES: Final = {
    "in_progress": "in progress",
    "passed": "passed",
    "modified": "modified",
    "blocked": "blocked",
    "deferred": "deferred",
    "resampled": "resampled",
    "edited": "edited",
    "held": "held for audit",
    "rejected": "rejected",
    "upstream_error": "upstream error",
    "timeout": "timeout",
    "disconnected": "disconnected",
    "error": "error",
}

#: How a call that did not succeed ended (`request_completed`'s status) as an outcome.
_STATUS_OUTCOMES: Final = {
    "rejected": "rejected",
    "failure": "upstream_error",
    "upstream_error": "upstream_error",
    "timeout": "timeout",
    "disconnected": "disconnected",
    "error": "error",
    "protocol_error": "error",
}

#: A decision's action as the outcome it gives a successful call, strongest first: one blocked call
#: makes the call blocked even if another was released.
#: A held call a person denied (or that timed out to deny, or failed) was blocked; one they edited,
#: edited; one they approved stays "held for audit".
_ACTION_OUTCOMES: Final = (
    ("block", "blocked"),
    ("audit_denied", "blocked"),
    ("edit", "edited"),
    ("audit_edited", "edited"),
    ("defer_to_trusted", "deferred"),
    ("resample", "resampled"),
    ("audit", "held"),
)
_OUTCOME_OF_ACTION: Final = dict(_ACTION_OUTCOMES)
#: Decisions that record work, not a verdict on what the client gets.
_NOT_VERDICTS: Final = frozenset(
    {"judge", "allow", "resample_exhausted", "alert_dropped", "alert_failed", "audit_unavailable"}
)


def verdict_action(decision: dict[str, Any]) -> str:
    """The decision's action, an audit that released nothing (timed out to deny, failed) read as
    denied."""
    action = str(decision.get("action"))
    return "audit_denied" if action.startswith("audit_") and decision.get("released") is False else action


PREVIEW_CHARS = 200
#: How many decisions a summary words, and how many tool names it lists (the call view has them all).
DECISIONS_WORDED = 5
TOOL_NAMES_LISTED = 20


def _clip(text: str, limit: int = PREVIEW_CHARS) -> str:
    text = " ".join(text[: limit * 4].split())  # only the head is shown: don't split the whole text
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _object(value: Any) -> dict[str, Any]:
    return json_object(value) or {}


def last_user_text(request: dict[str, Any]) -> str:
    """The text of the last user turn that has text, in a recorded request of any dialect (chat and
    Messages `messages`, Responses `input`); "" when there is none. Reads from the end: cheap."""
    turns: Any = request.get("messages") or request.get("input") or []
    if isinstance(turns, str) and "messages" not in request:  # a Responses `input` string is a user turn
        return turns
    for turn in reversed(json_list(turns) or []):
        turn = _object(turn)
        if turn.get("role") != "user":
            continue
        content = turn.get("content")
        if isinstance(content, str) and content:
            return content
        texts = [_object(block).get("text") for block in json_list(content) or []]
        text = " ".join(t for t in texts if isinstance(t, str) and t)
        if text:
            return text
    return ""


def call_words(call: Any) -> str:
    """`Bash: curl … | sh` for a recorded tool call (`ToolCall.summary()`, a decision's `tool_call`):
    the tool and the argument a person reads first, clipped. One wording for the UI and the CLI."""
    call = _object(call)
    # The model names its tools: clipped like the arguments, so a long name cannot swell the words.
    name, arguments = _clip(str(call.get("name") or "tool"), 60), str(call.get("arguments") or "")
    try:
        parsed = json.loads(arguments)
    except (ValueError, RecursionError):  # a custom tool's free text may nest '[' past the limit
        parsed = arguments
    # The argument a person reads first: a command, a path, else the whole object.
    fields = json_object(parsed) or {}
    for key in ("command", "cmd", "file_path", "path", "url", "query"):
        if key in fields:
            value = fields[key]
            listed = json_list(value)
            arguments = " ".join(map(str, listed)) if listed is not None else str(value)
            break
    return f"{name}: {_clip(arguments, 120)}"


def decision_words(decision: dict[str, Any], judged: dict[str, dict[str, Any]] | None = None) -> str:
    """One decision in words: "blocked `Bash: curl … | sh` — monitor score 0.95: downloads and runs…".

    `judged` maps a tool call's id to the judge decision that scored it, for the reason."""
    action = str(decision.get("action") or "")
    outcome = OUTCOMES.get(_OUTCOME_OF_ACTION.get(action, ""), action.replace("_", " "))
    if action == "reject":
        return f"rejected: {decision.get('message') or 'by the policy'}"
    call = decision.get("tool_call")
    words = f"{outcome} {call_words(call)}" if call else outcome
    score = decision.get("score")
    if isinstance(score, int | float):
        words += f" — {'rule' if decision.get('rule') else 'monitor score'} {score:.2f}"
    judge = (judged or {}).get(str(_object(call).get("id")))
    reason = decision.get("rule") or decision.get("reason") or (judge or {}).get("reason")
    return f"{words}: {reason}" if reason else words


@dataclass
class CallTally:
    """A call's events folded into what the index lists of it."""

    call_id: str
    trace_id: str | None = None
    door: str = DOOR_LITELLM
    dialect: str = DIALECT_OPENAI_CHAT
    model: str | None = None
    key_alias: str | None = None
    started_at: float | None = None
    completed_at: float | None = None
    duration_ms: float | None = None
    streamed: bool = False
    status: str | None = None
    error: str | None = None
    modified: bool = False
    request_preview: str = ""
    response_preview: str = ""
    decisions: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])
    timing: CallTiming = field(default_factory=CallTiming)
    #: The policy the call ran on: name, version (its YAML's hash), the routing rule that chose it.
    policy: dict[str, Any] | None = None

    def add(self, kind: str, payload: dict[str, Any], timestamp: float | None) -> None:
        """Fold one conversation event (`derive_events`' kinds; chunks are not needed)."""
        if isinstance(payload.get(DIALECT_KEY), str):
            self.dialect = payload[DIALECT_KEY]
        if kind != "policy_decision":  # a decision is the policy's own dict: never timing
            self.timing.hook_time(payload)
            if self.policy is None and isinstance(payload.get("policy"), dict):
                self.policy = payload["policy"]  # chosen at the call's start, the same on every hook
        if kind == "request_started":
            self._started(payload, timestamp)
        elif kind == "policy_decision":
            self.decisions.append(payload)
        elif kind == "request_completed":
            self._completed(payload, timestamp)

    def _started(self, payload: dict[str, Any], timestamp: float | None) -> None:
        original, final = _object(payload.get("original")), _object(payload.get("final"))
        self.started_at = self.started_at or timestamp
        self.door = str(payload.get(DOOR_KEY) or self.door)
        self.key_alias = payload.get("key_alias") or self.key_alias
        self.model = final.get("model") or original.get("model") or self.model
        self.request_preview = _clip(last_user_text(final or original))
        self.modified = self.modified or original != final

    def _completed(self, payload: dict[str, Any], timestamp: float | None) -> None:
        if self.status is not None:
            return  # the first end is the end (LiteLLM reports a rejected call's failure too)
        self.completed_at = timestamp
        self.status = str(payload.get("status") or "success")
        self.error = payload.get("error") or (payload.get("message") if self.status == "rejected" else None)
        if isinstance(payload.get("duration_ms"), int | float):
            self.duration_ms = payload["duration_ms"]
        self.timing.completed(payload, self.status == "success", self.started_at, timestamp)
        if payload.get("streamed"):
            self.streamed = True
            original, final = payload.get("original_text", ""), payload.get("final_text", "")
            self.modified = self.modified or original != final
            self.response_preview = _clip(str(final))
        elif isinstance(payload.get("original"), dict):
            final = _object(payload.get("final"))
            changed = payload["original"] != final and not same_answer(
                self.dialect, payload["original"], final
            )
            self.modified = self.modified or changed
            self.response_preview = _clip(response_words(self.dialect, final))

    @property
    def outcome(self) -> str:
        if self.status is None:
            return "in_progress"
        if self.status != "success":
            return _STATUS_OUTCOMES.get(self.status, "error")
        actions = {verdict_action(d) for d in self.decisions}
        for action, outcome in _ACTION_OUTCOMES:
            if action in actions:
                return outcome
        return "modified" if self.modified else "passed"

    def verdicts(self) -> list[dict[str, Any]]:
        """The decisions that changed what the client got (not judge calls or allows)."""
        return [d for d in self.decisions if d.get("action") not in _NOT_VERDICTS]

    def decision_text(self) -> str:
        """The call's decisions in words, strongest first ("" when nothing was decided)."""
        judges = (d for d in self.decisions if d.get("action") == "judge")
        judged = {str(_object(d.get("tool_call")).get("id")): d for d in judges}
        rank = {action: i for i, (action, _) in enumerate(_ACTION_OUTCOMES)}
        verdicts = sorted(self.verdicts(), key=lambda d: rank.get(str(d.get("action")), len(rank)))
        words = [decision_words(d, judged) for d in verdicts[:DECISIONS_WORDED]]
        if len(verdicts) > DECISIONS_WORDED:  # one answer may propose hundreds of calls: the strongest
            words.append(f"and {len(verdicts) - DECISIONS_WORDED} more")
        return "; ".join(words)

    def latency_ms(self) -> float | None:
        if self.started_at is not None and self.completed_at is not None:
            return round((self.completed_at - self.started_at) * 1000, 1)
        return round(self.duration_ms, 1) if self.duration_ms is not None else None

    def max_score(self) -> float | None:
        scores = [d["score"] for d in self.decisions if isinstance(d.get("score"), int | float)]
        return max(scores) if scores else None

    def actions(self) -> list[str]:
        """Every action the policy recorded for the call, once each (what history searches by)."""
        return sorted({str(d["action"]) for d in self.decisions if d.get("action")})

    def _policy_fields(self) -> dict[str, Any]:
        policy = self.policy or {}
        return {
            "policy": policy.get("name"),
            "policy_version": policy.get("version"),
            "policy_rule": policy.get("rule"),
        }

    def tool_names(self) -> list[str]:
        """The names of the tool calls the policy decided on."""
        calls = (_object(d.get("tool_call")) for d in self.decisions)
        names = sorted({_clip(str(call["name"]), 60) for call in calls if call.get("name")})
        return names[:TOOL_NAMES_LISTED]

    def summary(self) -> dict[str, Any]:
        """The call as the index lists it (and `/api/calls` answers)."""
        return {
            "call_id": self.call_id,
            "trace_id": self.trace_id,
            "door": self.door,
            "dialect": self.dialect,
            "model": self.model,
            "key_alias": self.key_alias,
            "started_at": self.started_at,
            "completed_at": self.completed_at,
            "latency_ms": self.latency_ms(),
            "streamed": self.streamed,
            "status": self.status,
            "outcome": self.outcome,
            "outcome_label": OUTCOMES[self.outcome],
            "decision": self.decision_text(),
            **self._policy_fields(),
            "actions": self.actions(),
            "max_score": self.max_score(),
            "tool_calls": self.tool_names(),
            "error": self.error,
            "request_preview": self.request_preview,
            "response_preview": self.response_preview,
        }


def same_answer(dialect: str, original: dict[str, Any], final: dict[str, Any]) -> bool:
    """Whether two recorded responses say the same (texts, and tool calls by name and canonical
    arguments), however differently encoded: a policy that released everything re-encodes the
    answer, and that is not a change a person needs to see. Unreadable ones are not the same."""
    try:
        codec = dialect_named(dialect)
        return codec.decode_response(original).choices == codec.decode_response(final).choices
    except (
        UnknownDialect,
        MalformedToolCall,
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RecursionError,
    ):
        return False


def response_words(dialect: str, response: dict[str, Any]) -> str:
    """A recorded response's text, else its tool calls in words ("" when it cannot be read)."""
    try:
        codec = dialect_named(dialect)
        text = codec.response_text(response)
        if text:
            return text
        return "; ".join(call_words(call.summary()) for call in codec.decode_response(response).tool_calls())
    except (UnknownDialect, MalformedToolCall, ValueError, TypeError, KeyError, AttributeError):
        return ""
