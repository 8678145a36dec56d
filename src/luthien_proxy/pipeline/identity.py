"""Finds the identifiers that tie a call's hooks, chunks, records and events together, and the facts
policy routing chooses a call's policy by."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from luthien_proxy.call_scope import request_ids
from luthien_proxy.policies.policy_set import CallFacts
from luthien_proxy.wire import DOOR_KEY, DOOR_LITELLM

# Where LiteLLM hook payloads carry the request: pre-call and success hooks use `data`,
# the failure hook `request_data`, logging hooks `kwargs`.
_REQUEST_KEYS = ("data", "request_data", "kwargs")


@dataclass(frozen=True, slots=True)
class CallIdentity:
    call_id: str | None
    trace_id: str | None


def identity_of(payload: dict[str, Any]) -> CallIdentity:
    """`litellm_call_id` / `litellm_trace_id` from the top level, else from the request.

    The top-level ids are the callback's, already scoped to the caller's key (`call_scope`); the
    request's own are the fallback for a payload that has none there.
    """
    call_id, trace_id = request_ids(payload)
    for key in _REQUEST_KEYS:
        request = payload.get(key)
        if isinstance(request, dict) and not (call_id and trace_id):
            found_call, found_trace = request_ids(cast("dict[str, Any]", request))
            call_id, trace_id = call_id or found_call, trace_id or found_trace
    return CallIdentity(call_id, trace_id)


def facts_of(payload: dict[str, Any], request: dict[str, Any] | None = None) -> CallFacts:
    """What policy routing looks at of a hook payload: its door, the model of its request, and the
    caller's key alias and teams from `user_api_key_dict` — put there by the door (the LiteLLM
    callback from the key LiteLLM authenticated, the native door from the key it checked), never
    read from the client's body."""
    if request is None:
        found: Any = next((payload[key] for key in _REQUEST_KEYS if isinstance(payload.get(key), dict)), None)
        request = cast("dict[str, Any]", found or {})
    door = payload.get(DOOR_KEY)
    caller = payload.get("user_api_key_dict")
    caller = cast("dict[str, Any]", caller) if isinstance(caller, dict) else {}
    model, key = request.get("model"), caller.get("key_alias")
    teams = tuple(t for t in (caller.get("team_alias"), caller.get("team_id")) if isinstance(t, str) and t)
    return CallFacts(
        door=door if isinstance(door, str) else DOOR_LITELLM,
        model=model if isinstance(model, str) else None,
        key=key if isinstance(key, str) and key else None,
        teams=teams,
    )
