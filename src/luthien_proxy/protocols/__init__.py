"""AI-control protocols on live traffic: trusted monitoring, defer to trusted, trusted editing,
defer to resample, tool-call rules and serial composition, with a judge-model or model-free
command monitor. See docs/control-protocols.md."""

from luthien_proxy.protocols.base import ToolCallProtocol
from luthien_proxy.protocols.chain import ChainPolicy
from luthien_proxy.protocols.command_monitor import CommandMonitor
from luthien_proxy.protocols.defer_to_resample import DeferToResamplePolicy
from luthien_proxy.protocols.defer_to_trusted import DeferToTrustedPolicy
from luthien_proxy.protocols.monitor import TrustedMonitor
from luthien_proxy.protocols.rules import ToolCallRulesPolicy
from luthien_proxy.protocols.trusted_editing import TrustedEditingPolicy
from luthien_proxy.protocols.trusted_monitoring import TrustedMonitoringPolicy

__all__ = [
    "ChainPolicy",
    "CommandMonitor",
    "DeferToResamplePolicy",
    "DeferToTrustedPolicy",
    "ToolCallProtocol",
    "ToolCallRulesPolicy",
    "TrustedEditingPolicy",
    "TrustedMonitor",
    "TrustedMonitoringPolicy",
]
