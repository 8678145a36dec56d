"""The control plane: FastAPI app, routes, and the lifecycle of its backends."""

from luthien_proxy.control_plane.app import create_app
from luthien_proxy.control_plane.services import ControlPlaneServices, StartupError

__all__ = ["ControlPlaneServices", "StartupError", "create_app"]
