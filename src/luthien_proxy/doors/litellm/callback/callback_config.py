"""Environment-driven settings for the LiteLLM callback, read once so hooks never touch os.environ."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from luthien_proxy.settings import Settings
from luthien_proxy.wire import PROXY_TOKEN_HEADER

DEFAULT_URL = "http://127.0.0.1:8081"
DEFAULT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class CallbackConfig:
    """Where the control plane is, how to authenticate to it, and what to do when it fails."""

    control_plane_url: str = DEFAULT_URL
    proxy_token: str | None = None
    fail_open: bool = False
    timeout_s: float = DEFAULT_TIMEOUT_S
    #: Report the hooks the policy leaves alone over the link instead of asking (`PolicyLink`).
    fast_path: bool = True

    @property
    def ws_base_url(self) -> str:
        """The control plane's base URL with the ws/wss scheme."""
        url = self.control_plane_url.rstrip("/")
        if url.startswith("https://"):
            return "wss://" + url[len("https://") :]
        if url.startswith("http://"):
            return "ws://" + url[len("http://") :]
        return url

    def auth_headers(self) -> dict[str, str]:
        """Headers that authenticate this proxy to the control plane."""
        return {PROXY_TOKEN_HEADER: self.proxy_token} if self.proxy_token else {}

    @classmethod
    def from_settings(cls, settings: Settings) -> CallbackConfig:
        """The callback's view of the (already validated) Luthien settings."""
        return cls(
            control_plane_url=settings.control_plane_url,
            proxy_token=settings.proxy_token,
            fail_open=settings.fail_mode == "open",
            timeout_s=settings.control_plane_timeout_seconds,
            fast_path=settings.hook_fast_path,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> CallbackConfig:
        """Read LUTHIEN_CONTROL_PLANE_URL/_TIMEOUT, LUTHIEN_PROXY_TOKEN, LUTHIEN_FAIL_MODE and
        LUTHIEN_HOOK_FAST_PATH."""
        return cls.from_settings(Settings.from_env(env))
