"""Finds the identifiers that tie a call's hooks, chunks, records and events together."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Where LiteLLM hook payloads carry the request: pre-call and success hooks use `data`,
# the failure hook `request_data`, logging hooks `kwargs`.
_REQUEST_KEYS = ("data", "request_data", "kwargs")


@dataclass(frozen=True, slots=True)
class CallIdentity:
    call_id: str | None
    trace_id: str | None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def identity_of(payload: dict[str, Any]) -> CallIdentity:
    """`litellm_call_id` / `litellm_trace_id` from the top level, the request, or its metadata."""
    call_id = _text(payload.get("litellm_call_id"))
    trace_id = _text(payload.get("litellm_trace_id"))
    for key in _REQUEST_KEYS:
        request = payload.get(key)
        if not isinstance(request, dict):
            continue
        metadata = request.get("metadata")
        if not isinstance(metadata, dict):
            metadata = {}
        call_id = call_id or _text(request.get("litellm_call_id"))
        trace_id = trace_id or _text(request.get("litellm_trace_id")) or _text(metadata.get("trace_id"))
    return CallIdentity(call_id, trace_id)
