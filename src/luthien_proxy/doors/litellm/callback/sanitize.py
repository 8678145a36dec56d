"""Turns LiteLLM hook arguments into JSON-safe payloads with secrets removed, and merges policy edits back."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from luthien_proxy.call_scope import principal_of, scoped_ids
from luthien_proxy.redaction import is_secret_name
from luthien_proxy.wire import CALL_ID_KEY, CONTENT_KEYS, TRACE_ID_KEY, TRACEPARENT_KEY, TRACESTATE_KEY

# Request keys that belong to LiteLLM's plumbing, never to the policy: pre-call results never overwrite them.
INTERNAL_REQUEST_KEYS = frozenset(
    {
        "metadata",
        "litellm_metadata",
        "proxy_server_request",
        "litellm_logging_obj",
        "secret_fields",
        CALL_ID_KEY,
        TRACE_ID_KEY,
        "litellm_session_id",
        "shared_session",
        "deployment",
        "user_api_key_dict",
    }
)
_MAX_DEPTH = 64


def to_jsonable(value: Any, _depth: int = 0, *, names: bool = True) -> Any:
    """Deep-convert `value` to JSON types, dropping credential-named keys (`pipeline.redaction`);
    unknown objects become a type marker.

    Below a content key (messages, tools, `response_format`, ...) names are the user's, not
    credentials: nothing is dropped there, so the policy sees (and may forward) exactly what the
    client sent. Unknown objects are never `str()`-ed: their repr could carry credentials (e.g.
    LiteLLM's logging object).
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if _depth > _MAX_DEPTH:
        return "<too deep>"
    if isinstance(value, Mapping):
        converted: dict[str, Any] = {}
        for k, v in value.items():
            if isinstance(k, str) and names and is_secret_name(k):
                continue
            converted[str(k)] = to_jsonable(v, _depth + 1, names=names and k not in CONTENT_KEYS)
        return converted
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v, _depth + 1, names=names) for v in value]
    if isinstance(value, BaseModel):
        try:
            dumped = value.model_dump()
        except Exception:
            return f"<{type(value).__name__}>"
        return to_jsonable(dumped, _depth + 1, names=names)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, _depth + 1, names=names)
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return f"<{type(value).__name__}>"


# LiteLLM plumbing a policy never needs: in-process objects, the router's deployment (upstream
# credentials, model info) and the raw request (its body repeats the request, its headers are
# credentials and client details). Leaving them out is also most of the callback's cost per call.
_NOT_SENT = frozenset(
    {"litellm_logging_obj", "shared_session", "deployment", "proxy_server_request", "user_api_key_dict"}
)
# What of LiteLLM's metadata a policy can use: who is calling and how calls are grouped.
_METADATA_SENT = frozenset(
    {
        "trace_id",
        "tags",
        "user_api_key_alias",
        "user_api_key_user_id",
        "user_api_key_team_id",
        "user_api_key_org_id",
        "requester_ip_address",
    }
)
# Identity fields of LiteLLM's UserAPIKeyAuth (never the key or its hash); policy routing reads the
# key alias and the team's alias and id.
_USER_KEY_SENT = (
    "user_id",
    "team_id",
    "team_alias",
    "org_id",
    "key_alias",
    "key_name",
    "user_role",
    "end_user_id",
)


def request_payload(data: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-safe, secret-free copy of what a policy needs of a request: the OpenAI request fields,
    the call's identifiers and a little of LiteLLM's metadata."""
    trimmed = {k: v for k, v in data.items() if k not in _NOT_SENT}
    # `litellm_metadata` is where LiteLLM keeps `metadata` for /v1/responses and /v1/messages:
    # both carry the client's full headers.
    for key in ("metadata", "litellm_metadata"):
        metadata = data.get(key)
        if isinstance(metadata, Mapping):
            trimmed[key] = {k: v for k, v in metadata.items() if k in _METADATA_SENT}
    return to_jsonable(trimmed)


def user_key_payload(user_api_key_dict: Any) -> dict[str, Any]:
    """The caller's identity from LiteLLM's UserAPIKeyAuth, without the key or its hash."""
    fields = {name: getattr(user_api_key_dict, name, None) for name in _USER_KEY_SENT}
    return to_jsonable({name: value for name, value in fields.items() if value is not None})


def model_json(value: Any) -> Any:
    """A LiteLLM response or chunk as JSON data, through pydantic's compiled serializer when possible.

    Model output carries no credentials, so the secret-dropping walk of `to_jsonable` is not needed.
    """
    if isinstance(value, BaseModel):
        try:
            return value.model_dump(mode="json", warnings=False)
        except Exception:
            return to_jsonable(value, names=False)
    return to_jsonable(value, names=False)


def call_ids(data: Mapping[str, Any], user_api_key_dict: Any = None) -> dict[str, Any]:
    """The identifiers the control plane uses to tie a call together, in the caller's key's
    namespace (`call_scope`): a client-chosen id never reaches another key's records. With them,
    the client's W3C trace context, so the control plane's spans continue the client's trace."""
    return {**scoped_ids(data, principal_of(user_api_key_dict)), **trace_context(data)}


def trace_context(data: Mapping[str, Any]) -> dict[str, str]:
    """The `traceparent` and `tracestate` headers of the client's request, as LiteLLM keeps them
    (`proxy_server_request.headers`, lower-cased, credentials removed); {} when it sent none."""
    server_request = data.get("proxy_server_request")
    headers = server_request.get("headers") if isinstance(server_request, Mapping) else None
    if not isinstance(headers, Mapping):
        return {}
    found = {name: headers.get(name) for name in (TRACEPARENT_KEY, TRACESTATE_KEY)}
    return {name: value for name, value in found.items() if isinstance(value, str) and value}


def merge_request(original: dict[str, Any], sent: Mapping[str, Any], result: Any) -> dict[str, Any]:
    """Apply a policy's edited request onto the live `data`, keeping secrets and LiteLLM plumbing local.

    A key the policy left equal to what was sent keeps its original (possibly non-JSON, secret-bearing)
    value; a changed key takes the policy's value; a sent key the policy removed is removed.
    """
    if not isinstance(result, Mapping):
        return original
    merged = dict(original)
    for key, value in result.items():
        if key in INTERNAL_REQUEST_KEYS or is_secret_name(key):
            continue
        if key in sent and sent[key] == value:
            continue
        merged[key] = value
    for key in sent:
        if key not in result and key not in INTERNAL_REQUEST_KEYS:
            merged.pop(key, None)
    return merged
