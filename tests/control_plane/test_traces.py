"""OpenTelemetry traces: a native-door call is one trace — the call's span, the policy's hook and
stream spans under it, each judge call under the policy span that asked, the upstream request
beside them — continuing the client's `traceparent`; a LiteLLM hook continues the trace context the
callback passes on; with no endpoint nothing is traced, imported or exported."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from luthien_proxy.backends.telemetry import NO_TRACER, Telemetry, span
from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.doors.litellm.callback.sanitize import call_ids
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies import PolicyHost
from luthien_proxy.protocols import TrustedMonitoringPolicy
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from luthien_proxy.wire import FAILURE_HOOK, PRE_CALL_HOOK, SUCCESS_HOOK
from tests.conftest import Backend
from tests.support.live_server import serve_app
from tests.support.waiting import eventually

KEY = "sk-trace-test"
TRACE_HEX = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_HEX = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_HEX}-{PARENT_HEX}-01"
#: demo-tool proposes `run_shell(ls -la)` for this; the trusted monitor has it judged.
BENIGN = "[agent:benign] list the files"


@dataclass
class Door:
    client: httpx.AsyncClient
    exporter: InMemorySpanExporter
    services: ControlPlaneServices

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    async def call(
        self, *, stream: bool = False, headers: dict[str, str] | None = None, model: str = "demo-tool"
    ) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": BENIGN}], "stream": stream}
        headers = {"authorization": f"Bearer {KEY}", **(headers or {})}
        return await self.client.post("/v1/chat/completions", json=body, headers=headers)


@pytest.fixture
async def door(tmp_path: Path) -> AsyncIterator[Door]:
    """The control plane with a trusted monitor (judge: demo-judge) over demo-tool, both at a demo
    upstream, its spans going to an in-memory exporter."""
    exporter = InMemorySpanExporter()
    async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
        host = PolicyHost(environ={"LUTHIEN_DEMO_UPSTREAM_URL": f"http://{upstream}/v1"})
        policy = TrustedMonitoringPolicy(
            threshold=0.7, monitor={"model": "demo-judge", "retries": 0}, host=host
        )
        settings = Backend("embedded", f"sqlite:///{tmp_path / 'luthien.db'}", None).settings(client_key=KEY)
        services = await ControlPlaneServices.open(settings, policy=policy)
        services.trace_with(Telemetry.exporting(SimpleSpanProcessor(exporter), "luthien-test"))
        services.model_routes = routes_from_config(
            {
                "model_list": [
                    {
                        "model_name": name,
                        "litellm_params": {"model": f"openai/{name}", "api_base": f"http://{upstream}/v1"},
                    }
                    for name in ("demo-tool", "demo-error")
                ]
            }
        )
        try:
            async with (
                serve_app(create_app(services.settings, services)) as address,
                httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
            ):
                yield Door(client, exporter, services)
        finally:
            await services.close()


def _named(spans: list[ReadableSpan], name: str, **attributes: object) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.name == name and all((s.attributes or {}).get(k) == v for k, v in attributes.items())
    ]


def _one(spans: list[ReadableSpan], name: str, **attributes: object) -> ReadableSpan:
    found = _named(spans, name, **attributes)
    assert len(found) == 1, f"{name} {attributes}: {[(s.name, dict(s.attributes or {})) for s in spans]}"
    return found[0]


def _parent_of(child: ReadableSpan, parent: ReadableSpan) -> bool:
    assert child.parent is not None and parent.context is not None and child.context is not None
    return (
        child.parent.span_id == parent.context.span_id and child.context.trace_id == parent.context.trace_id
    )


async def test_a_call_is_one_trace_continuing_the_clients_traceparent(door: Door) -> None:
    answer = await door.call(headers={"traceparent": TRACEPARENT})
    assert answer.status_code == 200, answer.text
    spans = door.spans()
    call = _one(spans, "luthien.call")
    assert call.context is not None and call.parent is not None
    # The client's trace id is the call's, and the client's span its parent.
    assert call.context.trace_id == int(TRACE_HEX, 16)
    assert call.parent.span_id == int(PARENT_HEX, 16) and call.parent.is_remote
    assert (
        dict(call.attributes or {}).items()
        >= {
            "luthien.call_id": answer.headers["x-litellm-call-id"],
            "luthien.door": "native",
            "luthien.dialect": "openai_chat",
            "luthien.model": "demo-tool",
            "luthien.outcome": "success",
            "luthien.policy": "TrustedMonitoringPolicy",
            "http.response.status_code": 200,
        }.items()
    )
    request_hook = _one(spans, "luthien.hook", **{"luthien.hook": PRE_CALL_HOOK})
    response_hook = _one(spans, "luthien.hook", **{"luthien.hook": SUCCESS_HOOK})
    judge = _one(spans, "luthien.judge")
    upstream = _one(spans, "luthien.upstream")
    assert _parent_of(request_hook, call) and _parent_of(response_hook, call)
    assert _parent_of(judge, response_hook)  # the monitor judged the proposed tool call
    assert _parent_of(upstream, call)
    assert (judge.attributes or {})["luthien.model"] == "demo-judge"
    assert (upstream.attributes or {})["luthien.model"] == "demo-tool"
    assert (response_hook.attributes or {})["luthien.call_id"] == answer.headers["x-litellm-call-id"]
    assert {str(s.resource.attributes["service.name"]) for s in spans} == {"luthien-test"}
    # Nothing a client sent is an attribute: no prompt text in any span.
    assert not any(BENIGN in str(value) for s in spans for value in (s.attributes or {}).values())


async def test_a_streamed_call_has_its_stream_and_upstream_spans_under_the_call(door: Door) -> None:
    answer = await door.call(stream=True)
    assert answer.status_code == 200 and "data: [DONE]" in answer.text

    async def finished() -> list[ReadableSpan] | None:
        spans = door.spans()
        return spans if _named(spans, "luthien.call") else None

    spans = await eventually(finished)  # the call's span ends just after the last frame
    call = _one(spans, "luthien.call")
    assert call.parent is None  # no traceparent: a trace of its own
    stream = _one(spans, "luthien.stream")
    judge = _one(spans, "luthien.judge")
    upstream = _one(spans, "luthien.upstream")
    assert _parent_of(stream, call) and _parent_of(upstream, call)
    assert _parent_of(judge, stream)
    assert _parent_of(_one(spans, "luthien.hook", **{"luthien.hook": PRE_CALL_HOOK}), call)
    assert (stream.attributes or {})["luthien.outcome"] == "success"
    assert (call.attributes or {})["luthien.outcome"] == "success"


async def test_a_litellm_hook_continues_the_trace_context_the_callback_passes_on(door: Door) -> None:
    data = {
        "litellm_call_id": "call-traced",
        "model": "demo-tool",
        "messages": [{"role": "user", "content": "hi"}],
        "proxy_server_request": {"headers": {"traceparent": TRACEPARENT, "user-agent": "x"}},
    }
    payload = {**call_ids(data), "data": {"model": "demo-tool", "messages": data["messages"]}}
    assert payload["traceparent"] == TRACEPARENT  # what the callback sends
    answer = await door.client.post(f"/api/hooks/{PRE_CALL_HOOK}", json=payload)
    assert answer.status_code == 200, answer.text
    hook = _one(door.spans(), "luthien.hook")
    assert hook.context is not None and hook.parent is not None
    assert hook.context.trace_id == int(TRACE_HEX, 16) and hook.parent.span_id == int(PARENT_HEX, 16)
    assert (
        dict(hook.attributes or {}).items()
        >= {"luthien.door": "litellm", "luthien.call_id": "call-traced"}.items()
    )


async def test_a_garbled_traceparent_starts_a_trace_of_our_own(door: Door) -> None:
    assert (await door.call(headers={"traceparent": "00-not-a-trace-01"})).status_code == 200
    call = _one(door.spans(), "luthien.call")
    assert call.parent is None and call.context is not None and call.context.trace_id != int(TRACE_HEX, 16)


async def test_a_call_the_upstream_fails_is_a_failed_span(door: Door) -> None:
    answer = await door.call(model="demo-error")
    assert answer.status_code == 500
    spans = door.spans()
    call, upstream = _one(spans, "luthien.call"), _one(spans, "luthien.upstream")
    assert (call.attributes or {})["luthien.outcome"] == "upstream_error"
    assert (call.attributes or {})["http.response.status_code"] == 500
    assert call.status.status_code is StatusCode.ERROR and upstream.status.status_code is StatusCode.ERROR
    # The failure is recorded as the call's outcome, in a hook span of the same call.
    assert _parent_of(_one(spans, "luthien.hook", **{"luthien.hook": FAILURE_HOOK}), call)


async def test_without_an_endpoint_nothing_is_traced(tmp_path: Path) -> None:
    settings = Backend("embedded", f"sqlite:///{tmp_path / 'luthien.db'}", None).settings()
    assert settings.otel_traces_endpoint is None
    policy = TrustedMonitoringPolicy(host=PolicyHost(environ={}))
    services = await ControlPlaneServices.open(settings, policy=policy)
    try:
        assert not services.telemetry.enabled and services.telemetry.provider is None
        assert services.pipeline.tracer is NO_TRACER and policy.host.tracer is NO_TRACER
        # The no-op path is one shared context: no span, nothing made current.
        with span(NO_TRACER, "luthien.call") as idle, span(NO_TRACER, "luthien.hook") as inner:
            assert idle is inner and not idle.is_recording()
            assert not trace.get_current_span().get_span_context().is_valid
    finally:
        await services.close()
    # The process-wide provider is never touched.
    assert isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider)
