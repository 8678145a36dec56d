"""`Telemetry`: the app's OpenTelemetry tracer, and the provider that exports its spans over OTLP.

The control plane creates it at start (`Telemetry.from_settings`) and shuts it down on close; a
policy gets the tracer from its host. Without an OTLP endpoint the tracer is `NO_TRACER`: `span`
then hands back one shared no-op context (no span, no context switch, nothing to export) and the
SDK and the exporter are never imported. With one, spans are batched and exported by the SDK's own
thread, off the request path. Attribute values are ids, names and outcomes: never request text
and never an exception's message (only its type), so nothing a client sent reaches the collector.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import INVALID_SPAN, NoOpTracer, Span, SpanKind, Status, StatusCode, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from luthien_proxy import __version__
from luthien_proxy.settings import Settings
from luthien_proxy.wire import TRACEPARENT_KEY, TRACESTATE_KEY

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from starlette.types import ASGIApp, Receive, Scope, Send

#: The tracer when nothing is exported: `span` skips all work for it.
NO_TRACER: Final[Tracer] = NoOpTracer()
#: What `span` hands back while tracing is off: reusable, its span records nothing.
_IDLE: Final = nullcontext(INVALID_SPAN)
_PROPAGATOR: Final = TraceContextTextMapPropagator()
#: Where the context holds the call's span, so the policy chosen deep inside can be noted on it.
_CALL_SPAN_KEY: Final = otel_context.create_key("luthien.call_span")

# Span names: one per call, children for the policy's hooks and stream, each judge call, the upstream.
CALL_SPAN: Final = "luthien.call"
HOOK_SPAN: Final = "luthien.hook"
STREAM_SPAN: Final = "luthien.stream"
JUDGE_SPAN: Final = "luthien.judge"
UPSTREAM_SPAN: Final = "luthien.upstream"

# Attribute names.
CALL_ID: Final = "luthien.call_id"
TRACE_ID: Final = "luthien.trace_id"
DOOR: Final = "luthien.door"
DIALECT: Final = "luthien.dialect"
MODEL: Final = "luthien.model"
OUTCOME: Final = "luthien.outcome"
POLICY: Final = "luthien.policy"
POLICY_VERSION: Final = "luthien.policy.version"
POLICY_RULE: Final = "luthien.policy.rule"
HOOK: Final = "luthien.hook"
JUDGE_API: Final = "luthien.judge.api"
ATTEMPTS: Final = "luthien.judge.attempts"
HTTP_STATUS: Final = "http.response.status_code"
SERVER_ADDRESS: Final = "server.address"

#: Outcomes that mark their span as failed; a rejection or a client gone is the policy or the
#: client at work, not a failure.
FAILED_OUTCOMES: Final = frozenset({"error", "upstream_error", "timeout", "protocol_error"})


class Telemetry:
    """The app's tracer and the provider behind it (none while nothing is exported)."""

    def __init__(self, tracer: Tracer = NO_TRACER, provider: TracerProvider | None = None) -> None:
        self.tracer = tracer
        self.provider = provider

    @classmethod
    def from_settings(cls, settings: Settings) -> Telemetry:
        """Export over OTLP/HTTP when `settings` name a traces endpoint; otherwise trace nothing."""
        if not settings.otel_traces_endpoint:
            return cls()
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        exporter = OTLPSpanExporter(endpoint=settings.otel_traces_endpoint)
        return cls.exporting(BatchSpanProcessor(exporter), settings.otel_service_name)

    @classmethod
    def exporting(cls, processor: SpanProcessor, service_name: str) -> Telemetry:
        """A provider of our own (never the process-global one) sending every span to `processor`."""
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased

        provider = TracerProvider(
            sampler=ParentBased(ALWAYS_ON),  # a client's "not sampled" is honoured
            resource=Resource({"service.name": service_name, "service.version": __version__}),
            shutdown_on_exit=False,  # the app shuts it down (`shutdown`)
        )
        provider.add_span_processor(processor)
        return cls(provider.get_tracer("luthien_proxy", __version__), provider)

    @property
    def enabled(self) -> bool:
        return self.tracer is not NO_TRACER

    def shutdown(self) -> None:
        """Export what is queued and stop the exporter (blocking: run it in a thread)."""
        if self.provider is not None:
            self.provider.shutdown()
            self.provider = None


class _Span:
    """A span started on entry and ended on exit; current in between unless `current` is false.

    An exception leaving the block marks the span failed with the exception's type only: its
    message may quote what the client sent.
    """

    __slots__ = ("_current", "_kind", "_name", "_parent", "_token", "_tracer", "span")

    def __init__(
        self, tracer: Tracer, name: str, kind: SpanKind, parent: otel_context.Context | None, current: bool
    ) -> None:
        self._tracer, self._name, self._kind, self._parent = tracer, name, kind, parent
        self._current = current
        self._token: object | None = None
        self.span: Span = INVALID_SPAN

    def __enter__(self) -> Span:
        self.span = self._tracer.start_span(self._name, context=self._parent, kind=self._kind)
        if self._current:
            active = trace.set_span_in_context(self.span)
            if self._name == CALL_SPAN:
                active = otel_context.set_value(_CALL_SPAN_KEY, self.span, active)
            self._token = otel_context.attach(active)
        return self.span

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._token is not None:
            otel_context.detach(self._token)  # type: ignore[arg-type]
        if isinstance(exc, Exception) and _status_of(self.span) is StatusCode.UNSET:
            self.span.set_status(Status(StatusCode.ERROR, type(exc).__name__))
        self.span.end()


def _status_of(span: Span) -> StatusCode:
    status = getattr(span, "status", None)
    return status.status_code if isinstance(status, Status) else StatusCode.UNSET


def span(
    tracer: Tracer,
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    remote: Mapping[str, Any] | None = None,
    current: bool = True,
) -> AbstractContextManager[Span]:
    """A span named `name` for the block, a child of the current span.

    `remote`: a carrier (request headers, a hook payload) whose W3C `traceparent` the span
    continues when no span is current (a LiteLLM hook arrives without one). `current=False`: the
    span is not made current, so spans started inside the block are not its children (the
    upstream span of a stream, whose chunks the policy's stream span consumes). Set attributes
    after `if span.is_recording()`: with tracing off that is false and costs nothing.
    """
    if tracer is NO_TRACER:
        return _IDLE
    parent = _remote_parent(remote) if remote is not None else None
    return _Span(tracer, name, kind, parent, current)


def _remote_parent(carrier: Mapping[str, Any]) -> otel_context.Context | None:
    if trace.get_current_span().get_span_context().is_valid or not isinstance(
        carrier.get(TRACEPARENT_KEY), str
    ):
        return None
    return _PROPAGATOR.extract(carrier)


def finish(span: Span, outcome: str, status_code: int | None = None) -> None:
    """Record how a call (or its part) ended: its outcome, the HTTP status, failed or not."""
    if not span.is_recording():
        return
    span.set_attribute(OUTCOME, outcome)
    if status_code is not None:
        span.set_attribute(HTTP_STATUS, status_code)
    if outcome in FAILED_OUTCOMES:
        span.set_status(Status(StatusCode.ERROR, outcome))


def annotate(span: Span, values: Mapping[str, str | int | None]) -> None:
    """Set `values` on a recording span, leaving out the unset ones (OpenTelemetry refuses None)."""
    if span.is_recording():
        span.set_attributes({key: value for key, value in values.items() if value is not None})


def note_policy(record: Mapping[str, str] | None) -> None:
    """Note the policy chosen for a call (`{"name", "version", "rule"}`) on the current span and on
    the call's span: the choice is made inside the pipeline, below the door that opened the call."""
    current = trace.get_current_span()
    if record is None or not current.is_recording():
        return
    values = {
        POLICY: record.get("name"),
        POLICY_VERSION: record.get("version"),
        POLICY_RULE: record.get("rule"),
    }
    annotate(current, values)
    call = otel_context.get_value(_CALL_SPAN_KEY)
    if isinstance(call, Span) and call is not current:
        annotate(call, values)


_TRACE_HEADERS: Final = {TRACEPARENT_KEY.encode(): TRACEPARENT_KEY, TRACESTATE_KEY.encode(): TRACESTATE_KEY}


class TraceContext:
    """ASGI middleware: while the app serves an HTTP request carrying a W3C `traceparent`, that trace
    context is the current one, so the call's span continues the client's trace. While nothing is
    traced it only asks `tracer()` and passes the request on (`tracer()` raising `AttributeError`, an
    app whose services are not attached yet, counts as nothing traced)."""

    def __init__(self, app: ASGIApp, tracer: Callable[[], Tracer]) -> None:
        self.app = app
        self.tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            tracer = self.tracer()
        except AttributeError:
            tracer = NO_TRACER
        if scope["type"] != "http" or tracer is NO_TRACER:
            return await self.app(scope, receive, send)
        carrier = {
            _TRACE_HEADERS[name]: value.decode("latin-1")
            for name, value in scope["headers"]
            if name in _TRACE_HEADERS
        }
        if TRACEPARENT_KEY not in carrier:
            return await self.app(scope, receive, send)
        token = otel_context.attach(_PROPAGATOR.extract(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)
