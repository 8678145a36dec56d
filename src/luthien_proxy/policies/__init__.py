"""Policies: the interface, the loader, and the shipped policies (loaded the same way as users')."""

from luthien_proxy.policies.all_caps import AllCapsPolicy
from luthien_proxy.policies.base import LuthienPolicy, PolicyContext, PolicyRejection, overrides
from luthien_proxy.policies.blocklist import RequestBlocklistPolicy
from luthien_proxy.policies.buffered import BufferedStreamPolicy
from luthien_proxy.policies.drop_chunks import DropChunksPolicy
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.policies.loader import PolicyConfigError, load_policy, policy_from_mapping
from luthien_proxy.policies.noop import NoOpPolicy
from luthien_proxy.policies.policy_set import CallFacts, PolicySet, load_policy_set, parse_policy_set
from luthien_proxy.policies.streaming_separator import StreamingSeparatorPolicy

__all__ = [
    "AllCapsPolicy",
    "BufferedStreamPolicy",
    "CallFacts",
    "DropChunksPolicy",
    "LuthienPolicy",
    "NoOpPolicy",
    "PolicyConfigError",
    "PolicyContext",
    "PolicyHost",
    "PolicyRejection",
    "PolicySet",
    "RequestBlocklistPolicy",
    "StreamingSeparatorPolicy",
    "load_policy",
    "load_policy_set",
    "overrides",
    "parse_policy_set",
    "policy_from_mapping",
]
