"""`create_app`: the control plane FastAPI application.

The lifespan opens the backends (unless the caller already did, as the CLI does to report
start-up failures cleanly), puts them on `app.state`, and flushes and closes them at shutdown.
The app owns its services either way: closing them in the lifespan means a SIGTERM'd server
flushes its queued records before uvicorn re-raises the signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from luthien_proxy import __version__
from luthien_proxy.backends.telemetry import TraceContext
from luthien_proxy.control_plane import admin_auth, health_routes, last_error, policy_routes, status_routes
from luthien_proxy.control_plane.admin_auth import login_failures, require_admin, require_admin_page
from luthien_proxy.control_plane.admin_sessions import AdminSessions
from luthien_proxy.control_plane.errors import install_error_handlers
from luthien_proxy.control_plane.host_check import HostCheck, allowed_host_names
from luthien_proxy.control_plane.services import ControlPlaneServices
from luthien_proxy.doors.litellm import hooks_routes, link_routes, stream_routes
from luthien_proxy.doors.litellm.door import LiteLLMDoor
from luthien_proxy.doors.native import messages_routes, responses_routes
from luthien_proxy.doors.native import routes as native_routes
from luthien_proxy.doors.native.calls import NativeCalls
from luthien_proxy.doors.native.door import NativeDoor
from luthien_proxy.doors.native.forms import ANTHROPIC_MESSAGES_FORM, OPENAI_CHAT_FORM, OPENAI_RESPONSES_FORM
from luthien_proxy.read import (
    api_docs,
    audits_routes,
    calls_routes,
    conversation_routes,
    debug_routes,
    metrics_routes,
    ui,
)
from luthien_proxy.read.metrics import BackendSources, ControlPlaneMetrics
from luthien_proxy.read.sources import ReadSources
from luthien_proxy.settings import Settings
from luthien_proxy.web.header_limit import HeaderSizeLimit
from luthien_proxy.web.rate_limiter import ConnectionSlots
from luthien_proxy.web.request_body import BodySizeLimit


def create_app(settings: Settings, services: ControlPlaneServices | None = None) -> FastAPI:
    """Build the app; `services`, when given, are already open, and the app closes them at shutdown."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        opened = services or await ControlPlaneServices.open(settings)
        _attach(app, opened)
        try:
            yield
        finally:
            await opened.close()

    app = FastAPI(title="Luthien control plane", version=__version__, lifespan=lifespan, docs_url=None)
    app.state.sse_slots = ConnectionSlots(settings.sse_max_streams_per_client, settings.sse_max_streams)
    #: Set when the server starts to stop (`cli.serve_command`): live SSE streams end at once.
    app.state.stopping = asyncio.Event()
    app.state.login_failures = login_failures()
    app.state.admin_sessions = AdminSessions(settings.admin_session_ttl_seconds)
    install_error_handlers(app)
    # Outermost last: header size, then Host (DNS rebinding), then the body limit, before any route.
    app.add_middleware(TraceContext, tracer=lambda: app.state.services.telemetry.tracer)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(HostCheck, allowed=allowed_host_names(settings))
    app.add_middleware(HeaderSizeLimit)
    admin = [Depends(require_admin)]
    app.include_router(health_routes.router)
    app.include_router(status_routes.router, dependencies=admin)
    last_error.install()
    app.include_router(admin_auth.router)
    app.include_router(hooks_routes.router)
    app.include_router(hooks_routes.read_router, dependencies=admin)
    app.include_router(conversation_routes.router, dependencies=admin)
    app.include_router(debug_routes.router, dependencies=admin)
    app.include_router(calls_routes.router, dependencies=admin)
    app.include_router(audits_routes.router, dependencies=admin)
    app.include_router(policy_routes.router, dependencies=admin)
    app.include_router(metrics_routes.router, dependencies=admin)
    app.include_router(api_docs.router)
    app.include_router(stream_routes.router)
    app.include_router(link_routes.router)
    app.include_router(ui.router, dependencies=[Depends(require_admin_page)])
    app.include_router(native_routes.router)
    # The data plane first: the router tries its routes in order (each included router walks its
    # own), which cost the native door ~45 us a request when these came last.
    hot = [native_routes.chat_route, responses_routes.responses_route, *messages_routes.messages_routes]
    app.router.routes[:0] = hot
    fastapi_openapi = app.openapi
    app.openapi = lambda: native_routes.document(fastapi_openapi())  # type: ignore[method-assign]
    if services is not None:
        _attach(app, services)
    return app


def _attach(app: FastAPI, services: ControlPlaneServices) -> None:
    """Expose the backends on `app.state`, where request handlers find them."""
    settings = services.settings
    app.state.services = services
    keepalive_s = settings.stream_keepalive_seconds
    app.state.litellm_door = LiteLLMDoor(
        services.pipeline,
        settings.proxy_token,
        settings.max_body_bytes,
        settings.link_max_streams,
        # Twice the period (the longest silence) stays under the callback's timeout.
        keepalive_s=min(keepalive_s, settings.control_plane_timeout_seconds / 3),
    )
    chat, messages, responses = (
        NativeCalls(services.pipeline, services.upstreams, services.model_routes, form, keepalive_s)
        for form in (OPENAI_CHAT_FORM, ANTHROPIC_MESSAGES_FORM, OPENAI_RESPONSES_FORM)
    )
    app.state.native_door = NativeDoor(
        chat, messages, responses, settings.client_key, settings.max_body_bytes, settings.client_keys
    )
    app.state.read_sources = ReadSources(
        services.store, services.bus, settings.sse_heartbeat_seconds, settings.sse_queue_size
    )
    app.state.store = services.store
    sources = BackendSources(services.writer, services.store, services.bus, services.audits)
    app.state.metrics = ControlPlaneMetrics.for_recorder(services.pipeline.recorder, sources)
    app.state.bus = services.bus
