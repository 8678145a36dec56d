"""Request-scoped access to the services the lifespan put on `app.state` (the control plane's own
routes only; doors and the read side get their own handles, see `control_plane/app.py`)."""

from __future__ import annotations

from fastapi import Request

from luthien_proxy.control_plane.services import ControlPlaneServices


def get_services(request: Request) -> ControlPlaneServices:
    return request.app.state.services
