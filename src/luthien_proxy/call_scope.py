"""Call and trace ids scoped to the caller's API key, so one key's calls never join another's records.

Clients choose their ids (`x-litellm-call-id`, `x-litellm-trace-id`, `litellm_trace_id`,
`metadata.trace_id`); those ids key the records, the live views and the monitor's suspicion ledger.
Every key gets its own namespace: an id becomes `<tag>:<id>`, `tag` a short hash of the key's
identity (never reversible to the key). The master key's namespace, shared by every caller that holds
it (the native door, and the LiteLLM door without virtual keys), is written without a prefix, so the
ids its callers see in responses are the ids of their records; one of its ids that looks scoped
(`<12 hex>:...`) is prefixed with the master's own tag, so it can never land in another key's
namespace. Both doors (the LiteLLM callback and the control plane) import this one module.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from luthien_proxy.wire import CALL_ID_KEY, TRACE_ID_KEY

#: LiteLLM's identity for its master key (`LITELLM_PROXY_MASTER_KEY_ALIAS`: the `token` of the
#: master key's `UserAPIKeyAuth`), also the principal of the native door's master-key callers (its
#: named keys, `LUTHIEN_CLIENT_KEYS`, each have their own).
MASTER_PRINCIPAL = "litellm_proxy_master_key"
TAG_CHARS = 12
#: The read APIs take ids of at most this many characters; a longer scoped id is shortened by hash.
MAX_ID_CHARS = 256
_SCOPED = re.compile(rf"^([0-9a-f]{{{TAG_CHARS}}}):")


@lru_cache(maxsize=4096)  # a few keys make every call: hash each once
def tag_of(principal: str) -> str:
    """The short, non-reversible tag of a key identity (a key hash or LiteLLM's master alias)."""
    return hashlib.sha256(b"luthien-caller\x00" + principal.encode()).hexdigest()[:TAG_CHARS]


MASTER_TAG = tag_of(MASTER_PRINCIPAL)


def principal_of(user_api_key_dict: Any) -> str | None:
    """Who is calling through LiteLLM: the key's hash (its `token`), else its user; None: no key."""
    for name in ("token", "api_key"):
        value = getattr(user_api_key_dict, name, None)
        if isinstance(value, str) and value:
            return value
    user_id = getattr(user_api_key_dict, "user_id", None)
    return f"user:{user_id}" if isinstance(user_id, str) and user_id else None


def scoped_id(principal: str | None, raw: str | None) -> str | None:
    """`raw` in `principal`'s namespace; None (no key) and the master key share the unprefixed one."""
    if not isinstance(raw, str) or not raw:
        return None
    if principal in (None, MASTER_PRINCIPAL):
        if not _SCOPED.match(raw):
            return raw
        tag = MASTER_TAG
    else:
        tag = tag_of(principal)
    scoped = f"{tag}:{raw}"
    if len(scoped) <= MAX_ID_CHARS:
        return scoped
    return f"{tag}:sha256.{hashlib.sha256(raw.encode()).hexdigest()}"


def caller_of(call_id: str | None) -> str:
    """The tag of the key whose namespace `call_id` is in (the master's for an unprefixed id)."""
    found = _SCOPED.match(call_id or "")
    return found.group(1) if found else MASTER_TAG


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def request_ids(request: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The (call id, trace id) a request carries: `litellm_call_id`, and `litellm_trace_id` or
    `metadata.trace_id`. The one reading both doors and the control plane share."""
    metadata = request.get("metadata")
    trace = _text(request.get(TRACE_ID_KEY))
    if trace is None and isinstance(metadata, Mapping):
        trace = _text(metadata.get("trace_id"))
    return _text(request.get(CALL_ID_KEY)), trace


def scoped_ids(request: Mapping[str, Any], principal: str | None) -> dict[str, str | None]:
    """The request's ids in `principal`'s namespace, as the hook API's top-level fields."""
    call_id, trace_id = request_ids(request)
    return {
        CALL_ID_KEY: scoped_id(principal, call_id),
        TRACE_ID_KEY: scoped_id(principal, trace_id),
    }
