"""Trusted monitoring: block every tool call the monitor scores above the threshold.

The flagged call is removed and the configured `block_message` takes its place; the monitor's
reasoning stays in the recorded decisions and is never shown to the untrusted model.
"""

from __future__ import annotations

from typing import ClassVar

from luthien_proxy.protocols.base import ToolCallProtocol


class TrustedMonitoringPolicy(ToolCallProtocol):
    """Blocks suspicious tool calls (the base protocol's default behaviour), releases the rest."""

    protocol: ClassVar[str] = "trusted_monitoring"
