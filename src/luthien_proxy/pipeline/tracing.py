"""What the pipeline's spans say of a hook call or a stream: the call's ids, door, dialect and model
(`backends.telemetry` has the tracer and the span mechanics). Built only for a span that records."""

from __future__ import annotations

from typing import Any, cast

from luthien_proxy.backends.telemetry import CALL_ID, DIALECT, DOOR, HOOK, MODEL, POLICY, TRACE_ID
from luthien_proxy.pipeline.identity import identity_of
from luthien_proxy.pipeline.stream import PolicyStream
from luthien_proxy.wire import DIALECT_KEY, DIALECT_OPENAI_CHAT, DOOR_KEY, DOOR_LITELLM, STREAM_HOOK

Attributes = dict[str, str | int | None]
#: Where a hook payload carries its request (as `identity.identity_of` looks for it).
_REQUEST_KEYS = ("data", "request_data", "kwargs")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def hook_attributes(hook: str, payload: dict[str, Any]) -> Attributes:
    """A hook call's span attributes, from its payload."""
    ids = identity_of(payload)
    empty: dict[str, Any] = {}
    request = next((payload[key] for key in _REQUEST_KEYS if isinstance(payload.get(key), dict)), empty)
    return {
        HOOK: hook,
        CALL_ID: ids.call_id,
        TRACE_ID: ids.trace_id,
        DOOR: _text(payload.get(DOOR_KEY)) or DOOR_LITELLM,
        DIALECT: _text(payload.get(DIALECT_KEY)) or DIALECT_OPENAI_CHAT,
        MODEL: _text(cast("dict[str, Any]", request).get("model")),
    }


def stream_attributes(stream: PolicyStream, door: str | None = None) -> Attributes:
    """A stream's span attributes; the policy's name until the chosen policy is noted."""
    return {
        HOOK: STREAM_HOOK,
        CALL_ID: stream.call_id,
        TRACE_ID: stream.ids.trace_id,
        DOOR: door,
        DIALECT: stream.dialect.name,
        MODEL: _text(stream.ctx.raw_request.get("model")),
        POLICY: type(stream.policy).__name__,
    }
