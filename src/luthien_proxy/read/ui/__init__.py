"""The control plane's web UI: static pages that watch calls through the HTTP and SSE APIs."""

from luthien_proxy.read.ui.routes import router

__all__ = ["router"]
