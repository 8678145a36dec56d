"""The native door's name for the model routes; they live in `luthien_proxy.model_routes`.

Kept only while `native/chat.py`, `native/upstream.py` and `control_plane/services.py` still import
this path; the routes are shared with the policy host, so no door owns them.
"""

from luthien_proxy.model_routes import ModelConfigError, ModelRoute, load_model_routes

__all__ = ["ModelConfigError", "ModelRoute", "load_model_routes"]
