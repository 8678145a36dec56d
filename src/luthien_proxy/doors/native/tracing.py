"""The native door's spans: one per call (`luthien.call`, continuing the client's `traceparent`) and
one for its upstream request (`luthien.upstream`); the policy's spans are the pipeline's."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.trace import Span, SpanKind, Tracer

from luthien_proxy.backends.telemetry import (
    CALL_ID,
    CALL_SPAN,
    DIALECT,
    DOOR,
    MODEL,
    SERVER_ADDRESS,
    TRACE_ID,
    UPSTREAM_SPAN,
    annotate,
    span,
)
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.doors.native.forms import CallError
from luthien_proxy.model_routes import ModelRoute
from luthien_proxy.pipeline import CallIdentity
from luthien_proxy.wire import DOOR_NATIVE

#: A `CallError`'s kind in the words of a stream's end (`StreamEnd.status`); any other is "error".
_OUTCOMES = {"policy_rejection": "rejected", "upstream_error": "upstream_error", "timeout": "timeout"}


def outcome_of(error: CallError) -> str:
    return _OUTCOMES.get(error.kind, "error")


def call_span(tracer: Tracer) -> AbstractContextManager[Span]:
    """The call's span: a child of the client's trace context when its request carried one (the
    app's `TraceContext` middleware made it current), else a new trace."""
    return span(tracer, CALL_SPAN, kind=SpanKind.SERVER)


def describe_call(traced: Span, ids: CallIdentity, dialect: Dialect, body: dict[str, Any]) -> None:
    if traced.is_recording():
        model = body.get("model")
        annotate(
            traced,
            {
                CALL_ID: ids.call_id,
                TRACE_ID: ids.trace_id,
                DOOR: DOOR_NATIVE,
                DIALECT: dialect.name,
                MODEL: model if isinstance(model, str) else None,
            },
        )


def upstream_span(tracer: Tracer, route: ModelRoute, *, current: bool = True) -> AbstractContextManager[Span]:
    """The upstream request's span; `current=False` for a stream, whose chunks the policy's stream
    span consumes beside it, under the call's span."""
    return span(tracer, UPSTREAM_SPAN, kind=SpanKind.CLIENT, current=current)


def describe_upstream(traced: Span, route: ModelRoute) -> None:
    if traced.is_recording():
        annotate(traced, {MODEL: route.upstream_model, SERVER_ADDRESS: urlsplit(route.base_url).hostname})
