"""Finds the identifiers that tie a call's hooks, chunks, records and events together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from luthien_proxy.call_scope import request_ids

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
