"""`GET /metrics`: the control plane's metrics in the Prometheus text format (`read.metrics`).

Behind the admin key like the other read APIs when one is set (a scraper sends it as a bearer
token): no prompt is in it, but traffic by model and outcome is still the operator's business.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from luthien_proxy.read.metrics import ControlPlaneMetrics

router = APIRouter(tags=["metrics"])


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request) -> Response:
    """Calls, latencies, decisions and judge calls since start, and the backends' state now."""
    found: ControlPlaneMetrics = request.app.state.metrics
    return Response(await found.render(), media_type=CONTENT_TYPE_LATEST)
