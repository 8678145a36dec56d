"""Error responses: every failure is JSON with a `detail` message, never a traceback."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request

from luthien_proxy.backends.store import StoreUnavailable
from luthien_proxy.web.responses import JSONBody

logger = logging.getLogger(__name__)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(StoreUnavailable)
    async def database_unavailable(request: Request, exc: StoreUnavailable) -> JSONBody:
        # Reads fail while the database is down; writes are queued and retried meanwhile.
        logger.warning("database unavailable on %s %s: %s", request.method, request.url.path, exc)
        return JSONBody({"detail": f"{exc}; new records wait in the queue"}, status_code=503)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONBody:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONBody(
            {"detail": f"internal error: {type(exc).__name__}; see the control-plane log"}, status_code=500
        )
