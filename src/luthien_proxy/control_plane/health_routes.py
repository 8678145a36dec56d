"""`GET /health`: whether the store and the bus answer, and how the write queue is doing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from luthien_proxy.backends.events import BusUnavailable
from luthien_proxy.backends.store import StoreUnavailable
from luthien_proxy.control_plane.dependencies import get_services
from luthien_proxy.control_plane.services import ControlPlaneServices
from luthien_proxy.instance_id import instance_headers
from luthien_proxy.web.responses import JSONBody

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(
    request: Request, services: Annotated[ControlPlaneServices, Depends(get_services)]
) -> JSONBody:
    """200 when the store and the bus answer and the write queue has room; 503 otherwise, with details.

    Records failing to be written (the database refusing some, `write_queue.set_aside`) make the
    status "degraded" with a 200: calls are still served and policed, but not all are recorded.
    """
    body, healthy = await health_report(request, services)
    # The instance header proves to `luthien up` that this answer is its child's.
    return JSONBody(body, status_code=200 if healthy else 503, headers=instance_headers())


async def health_report(request: Request, services: ControlPlaneServices) -> tuple[dict[str, Any], bool]:
    """What `/health` answers (also the base of `/api/status`), and whether it is a 200."""
    store: dict[str, object] = {"backend": services.store.backend, "ok": True}
    bus: dict[str, object] = {"ok": True, **services.bus.status()}
    try:
        await services.store.ping()
    except StoreUnavailable as exc:
        store.update(ok=False, error=str(exc))
    try:
        await services.bus.ping()
    except BusUnavailable as exc:
        bus.update(ok=False, error=str(exc))
    queue = services.writer.status()
    queue["full"] = queue["pending"] >= queue["capacity"]
    healthy = bool(store["ok"] and bus["ok"]) and not queue["full"]
    body = {
        "status": "ok" if healthy and not queue["failing"] else "degraded",
        "store": store,
        "bus": bus,
        "write_queue": queue,
        "stream_context": {
            "backend": services.stream_context.backend,
            "ttl_seconds": services.stream_context.ttl_seconds,
            "active_calls": getattr(services.stream_context, "active_calls", None),
        },
        "policy": type(services.pipeline.policy).__name__,
        "policy_version": services.pipeline.policies.current.version,
        "proxy_links": request.app.state.litellm_door.proxy_links,
    }
    return body, healthy
