"""`backends.telemetry`: the OTLP settings by their OpenTelemetry names, the export over OTLP/HTTP
when an endpoint is set, and nothing at all (not even an import) when none is."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import Response
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from luthien_proxy.backends.telemetry import Telemetry, span
from luthien_proxy.settings import Settings, SettingsError
from tests.support.imports import loaded_modules
from tests.support.live_server import serve_app

NO_ENV_FILE = Path("/nonexistent")


async def test_closing_exports_what_is_queued_over_otlp() -> None:
    """With an endpoint, spans are batched and sent as OTLP/HTTP protobuf to `<endpoint>/v1/traces`."""
    received: list[tuple[str, bytes]] = []
    collector = FastAPI()

    @collector.post("/v1/traces")
    async def traces(request: Request) -> Response:
        received.append((request.headers["content-type"], await request.body()))
        return Response(status_code=200)

    async with serve_app(collector) as address:
        settings = Settings.from_env(
            {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://{address}"}, env_file=NO_ENV_FILE
        )
        telemetry = Telemetry.from_settings(settings)
        assert telemetry.enabled and settings.otel_traces_endpoint == f"http://{address}/v1/traces"
        with span(telemetry.tracer, "luthien.call"):
            pass
        await asyncio.to_thread(telemetry.shutdown)  # what `ControlPlaneServices.close` does
    assert [kind for kind, _ in received] == ["application/x-protobuf"]
    exported = ExportTraceServiceRequest.FromString(received[0][1])
    resource = exported.resource_spans[0]
    assert [s.name for s in resource.scope_spans[0].spans] == ["luthien.call"]
    assert {a.key: a.value.string_value for a in resource.resource.attributes}[
        "service.name"
    ] == "luthien-proxy"


def test_without_an_endpoint_no_sdk_or_exporter_is_even_imported() -> None:
    loaded = loaded_modules(
        "from pathlib import Path; from luthien_proxy.settings import Settings; "
        "from luthien_proxy.backends.telemetry import Telemetry; "
        "assert not Telemetry.from_settings(Settings.from_env({}, env_file=Path('/nonexistent'))).enabled"
    )
    heavy = {m for m in loaded if m.startswith(("opentelemetry.sdk", "opentelemetry.exporter", "requests"))}
    assert heavy == set()


def test_otlp_settings_use_the_opentelemetry_names() -> None:
    def endpoint(**env: str) -> str | None:
        return Settings.from_env(env, env_file=NO_ENV_FILE).otel_traces_endpoint

    assert endpoint() is None
    assert endpoint(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318/") == "http://collector:4318/v1/traces"
    assert (
        endpoint(
            OTEL_EXPORTER_OTLP_ENDPOINT="http://a:4318", OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="https://b/t"
        )
        == "https://b/t"
    )
    named = Settings.from_env({"OTEL_SERVICE_NAME": "gateway-eu"}, env_file=NO_ENV_FILE)
    assert named.otel_service_name == "gateway-eu"
    assert Settings.from_env({}, env_file=NO_ENV_FILE).otel_service_name == "luthien-proxy"
    with pytest.raises(SettingsError, match="OTEL_EXPORTER_OTLP_ENDPOINT must start with http"):
        endpoint(OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318")
