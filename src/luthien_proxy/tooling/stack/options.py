"""What `luthien up` was asked to run (`StackOptions`) and the keys it runs with (`StackKeys`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackOptions:
    demo: bool
    policy: Path | None
    host: str
    proxy_port: int
    control_plane_port: int
    demo_upstream_port: int
    litellm_config: Path


@dataclass(frozen=True)
class StackKeys:
    """The client key (LiteLLM master key) and the proxy→control-plane token, given or generated."""

    master_key: str
    master_key_generated: bool
    proxy_token: str
    admin_key: str | None
    admin_key_generated: bool
