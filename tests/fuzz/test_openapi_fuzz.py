"""Every HTTP endpoint fuzzed from the OpenAPI schema: whatever arrives, no 5xx.

The control plane runs in a thread on a real port (with a demo upstream behind the native door),
and schemathesis generates requests for each operation of its schema.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.policies import AllCapsPolicy
from luthien_proxy.settings import Settings
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.support.live_server import serve_app

KEY = "sk-fuzz-key"
ADMIN = "fuzz-admin-key"
# Live streams never end by themselves; they are covered by their own tests.
ENDLESS = ("/api/hooks/conversation/stream", "/api/hooks/conversation/stream_by_trace")


@pytest.fixture(scope="module")
def control_plane_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
    ready = threading.Event()
    address: list[str] = []
    stopper: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def serve() -> None:
        settings_ = Settings.from_env(
            {
                "DATABASE_URL": f"sqlite:///{database}",
                "LITELLM_MASTER_KEY": KEY,
                "LUTHIEN_LOG_LEVEL": "error",
            },
            env_file=Path("/nonexistent"),
        )
        services = await ControlPlaneServices.open(settings_, policy=AllCapsPolicy())
        async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
            model = {
                "model_name": "demo-echo",
                "litellm_params": {"model": "openai/demo-echo", "api_base": f"http://{upstream}/v1"},
            }
            services.model_routes = routes_from_config({"model_list": [model]})
            async with serve_app(create_app(settings_, services)) as cp:
                stop = asyncio.Event()
                stopper.append((asyncio.get_running_loop(), stop))
                address.append(f"http://{cp}")
                ready.set()
                await stop.wait()
        await services.close()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    assert ready.wait(30), "control plane did not start"
    yield address[0]
    loop, stop = stopper[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(30)


@pytest.fixture(scope="module")
def api_schema(control_plane_url: str) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_url(f"{control_plane_url}/openapi.json")
    return schema.exclude(path=list(ENDLESS))


def test_no_server_errors(api_schema: schemathesis.BaseSchema, control_plane_url: str) -> None:
    headers = {"authorization": f"Bearer {KEY}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]  # pyright: ignore[reportAttributeAccessIssue]
    assert len(operations) >= 12, "the schema lists every endpoint"

    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=30,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        )
        def no_5xx(case: schemathesis.Case) -> None:
            response = case.call(base_url=control_plane_url, headers=headers, timeout=10)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
            )

        no_5xx()
