"""`GET /api/status` (admin key): `/health` plus what an operator asks next — where the backends
are (without credentials), the active policy and its version, this instance's id, version and
uptime, and the last error it logged. What `luthien status` shows."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from luthien_proxy import __version__
from luthien_proxy.control_plane.dependencies import get_services
from luthien_proxy.control_plane.health_routes import health_report
from luthien_proxy.control_plane.last_error import LAST_ERROR
from luthien_proxy.control_plane.services import ControlPlaneServices
from luthien_proxy.instance_id import INSTANCE_HEADER, instance_headers, new_instance_id
from luthien_proxy.web.responses import JSONBody

router = APIRouter(tags=["health"])

#: When this process started serving (module import is part of start-up), for `uptime_seconds`.
STARTED_AT = time.time()
#: This process's id outside `luthien up` (under it, the id `luthien up` gave the child).
_PROCESS_ID = new_instance_id()[:16]


@router.get("/api/status")
async def status(
    request: Request, services: Annotated[ControlPlaneServices, Depends(get_services)]
) -> JSONBody:
    """Always 200 when it answers (`healthy` says how it is); 401 without the admin key when one is set."""
    body, healthy = await health_report(request, services)
    settings = services.settings
    body["store"]["location"] = without_credentials(settings.database_url)
    body["bus"]["location"] = without_credentials(settings.redis_url) if settings.redis_url else "in process"
    return JSONBody(
        {
            **body,
            "healthy": healthy and body["status"] == "ok",
            "policy": active_policy(services),
            "instance_id": instance_headers().get(INSTANCE_HEADER) or _PROCESS_ID,
            "version": __version__,
            "uptime_seconds": round(time.time() - STARTED_AT, 1),
            "last_error": LAST_ERROR.snapshot(),
        }
    )


def active_policy(services: ControlPlaneServices) -> dict[str, Any]:
    """The policy calls start on now: its name and version (a hash of its YAML) when the pipeline
    keeps a versioned policy set, else the class name with no version."""
    current = getattr(getattr(services.pipeline, "policies", None), "current", None)
    name, version = getattr(current, "name", None), getattr(current, "version", None)
    if isinstance(name, str) and isinstance(version, str):
        return {"name": name, "version": version}
    return {"name": type(services.pipeline.policy).__name__, "version": None}


def without_credentials(url: str) -> str:
    """`url` as a user wrote it, minus user, password and query: `postgresql+asyncpg://u:p@h/db?x`
    → `postgresql://h/db`."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    authority, slash, path = rest.partition("/")
    # A query may carry credentials too (`?password=`): it goes as well.
    return f"{scheme.split('+', 1)[0]}://{authority.rsplit('@', 1)[-1]}{slash}{path.split('?', 1)[0]}"
