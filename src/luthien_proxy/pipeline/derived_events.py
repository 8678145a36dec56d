"""Which conversation events a debug record stands for — one rule for live publishing and replay.

The pipeline publishes exactly these events when it writes a record, and the read APIs rebuild a
call's events from its records with the same function, so a snapshot matches what was live.
"""

from __future__ import annotations

from typing import Any, cast

from luthien_proxy.backends.events.model import EventType
from luthien_proxy.wire import (
    CALL_ID_KEY,
    DIALECT_KEY,
    DOOR_KEY,
    FAILURE_HOOK,
    PRE_CALL_HOOK,
    RESULT_RECORD_PREFIX,
    STREAM_SUMMARY_TYPE,
    SUCCESS_HOOK,
    TRACE_ID_KEY,
)

DerivedEvent = tuple[EventType, dict[str, Any]]

#: A judgement a policy recorded through `ctx.record_decision` (see policies.base).
DECISION_TYPE = "policy_decision"


def _request_summary(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        return {}
    kept = ("model", "system", "instructions", "messages", "input", "tools", "stream")
    return {key: data[key] for key in kept if key in data}


def _dialect(payload: Any) -> dict[str, Any]:
    """The payload's dialect field, when it names one (absent: OpenAI chat)."""
    name = _part(payload, DIALECT_KEY)
    return {DIALECT_KEY: name} if isinstance(name, str) else {}


def _caller(payload: Any) -> dict[str, Any]:
    """The door the call came through (absent: LiteLLM) and the caller's key alias, when known:
    LiteLLM's virtual key alias, from the key it authenticated. Never from the request body: its
    `metadata` is the client's own on the native door and on LiteLLM's /v1/messages and /v1/responses."""
    found: dict[str, Any] = {}
    if isinstance(door := _part(payload, DOOR_KEY), str):
        found[DOOR_KEY] = door
    alias = _part(_part(payload, "user_api_key_dict"), "key_alias")
    if isinstance(alias, str) and alias:
        found["key_alias"] = alias
    return found


def _part(payload: Any, key: str) -> Any:
    return cast("dict[str, Any]", payload).get(key) if isinstance(payload, dict) else None


def _policy_time(body: dict[str, Any]) -> dict[str, Any]:
    """`policy_ms`, how long the policy's hook took: part of what Luthien added to the call's time."""
    ms = body.get("duration_ms")
    return {"policy_ms": ms} if isinstance(ms, int | float) and not isinstance(ms, bool) else {}


def _chosen(body: dict[str, Any]) -> dict[str, Any]:
    """`policy`, which policy ran the hook: its name, version and the routing rule that chose it."""
    policy = body.get("policy")
    return {"policy": policy} if isinstance(policy, dict) else {}


def _started(original: Any, result: Any, timed: dict[str, Any]) -> DerivedEvent:
    """`request_started` for a pre-call hook's payload and its result (the request as sent on)."""
    return (
        "request_started",
        {
            **_dialect(original),
            **_caller(original),
            "original": _request_summary(_part(original, "data")),
            "final": _request_summary(_part(result, "data")),
            **timed,
        },
    )


def derive_events(debug_type: str, body: dict[str, Any]) -> list[DerivedEvent]:
    """The events a record of `debug_type` with `body` publishes (none for most types)."""
    if debug_type == DECISION_TYPE:
        decision = body.get("decision")
        return [("policy_decision", decision)] if isinstance(decision, dict) else []
    if debug_type == STREAM_SUMMARY_TYPE:
        summary = {k: v for k, v in body.items() if k not in (CALL_ID_KEY, TRACE_ID_KEY)}
        return [("request_completed", {"streamed": True, **summary})]
    if not debug_type.startswith(RESULT_RECORD_PREFIX):
        return []
    decision = body.get("decision")
    hook = body.get("hook")
    original, result = body.get("original"), body.get("result")
    timed = {**_policy_time(body), **_chosen(body)}
    if isinstance(decision, dict):
        decision = cast("dict[str, Any]", decision)
        # A request the policy refused still started: the call's door, model and text are known.
        events: list[DerivedEvent] = [_started(original, original, timed)] if hook == PRE_CALL_HOOK else []
        events.append(("policy_decision", decision))
        if decision.get("action") == "reject":
            # The hook's time is on the call once: on its start when the request was refused.
            late = {} if hook == PRE_CALL_HOOK else timed
            events.append(("request_completed", {"status": "rejected", **decision, **late}))
        return events
    if hook == PRE_CALL_HOOK:
        return [_started(original, result, timed)]
    if hook == SUCCESS_HOOK:
        final = {
            **_dialect(original),
            "status": "success",
            "original": _part(original, "response"),
            "final": _part(result, "response"),
            **timed,
        }
        return [("request_completed", final)]
    if hook == FAILURE_HOOK:
        return [
            ("request_completed", {"status": "failure", "error": str(_part(original, "original_exception"))})
        ]
    return []
