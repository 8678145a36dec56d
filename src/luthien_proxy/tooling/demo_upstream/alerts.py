"""An in-memory alert webhook sink for the control-protocol demos.

The sink (`POST /alerts` stores the JSON body, `GET /alerts` lists what arrived, `POST
/alerts/fail` always answers 500) lets demos and tests watch protocol alerts without a server.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

ALERT_HISTORY = 1000


class AlertSink:
    """Keeps the newest alerts POSTed to the demo upstream, for demos and tests to read back."""

    def __init__(self) -> None:
        self.alerts: deque[Any] = deque(maxlen=ALERT_HISTORY)

    async def receive(self, request: Request) -> Response:
        try:
            self.alerts.append(orjson.loads(await request.body()))
        except orjson.JSONDecodeError:
            return Response(b'{"error":"not JSON"}', status_code=400, media_type="application/json")
        return Response(b'{"ok":true}', media_type="application/json")

    async def listing(self, _: Request) -> Response:
        return Response(orjson.dumps({"alerts": list(self.alerts)}), media_type="application/json")

    async def fail(self, _: Request) -> Response:
        return Response(
            b'{"error":"simulated alert sink failure"}', status_code=500, media_type="application/json"
        )
