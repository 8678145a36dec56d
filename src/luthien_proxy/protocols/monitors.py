"""The monitor a protocol's `monitor:` section selects: a judge model (`kind: model`, the default,
`TrustedMonitor`) or the model-free command monitor (`kind: command`, `CommandMonitor`)."""

from __future__ import annotations

from typing import Any, Protocol

from luthien_proxy.model import Request
from luthien_proxy.policies.base import PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.command_monitor import CommandMonitor
from luthien_proxy.protocols.monitor import Judgement, TrustedMonitor
from luthien_proxy.protocols.toolcalls import ToolCall

KINDS = ("model", "command")


class Monitor(Protocol):
    """Scores one proposed call in [0, 1] and records its verdict on the call (`action: judge`)."""

    async def judge(
        self, call: ToolCall, request: Request, ctx: PolicyContext, protocol: str
    ) -> Judgement: ...


def monitor_from_config(config: dict[str, Any] | None, host: PolicyHost) -> Monitor:
    """Build the monitor `config` describes; an unknown `kind` is a `ValueError` naming the kinds."""
    config = dict(config or {})
    kind = config.get("kind", "model")
    if kind == "command":
        return CommandMonitor.from_config(config, host)
    if kind == "model":
        config.pop("kind", None)
        return TrustedMonitor.from_config(config, host)
    raise ValueError(f"monitor config: kind must be one of {KINDS}, got {kind!r}")
