"""The control plane, the host: the FastAPI app that mounts the doors and the read side, the
lifecycle of its backends, admin auth, the Host check and /health."""

from luthien_proxy.control_plane.app import create_app
from luthien_proxy.control_plane.services import ControlPlaneServices, StartupError

__all__ = ["ControlPlaneServices", "StartupError", "create_app"]
