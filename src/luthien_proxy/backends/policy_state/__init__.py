"""Policy state shared across requests and instances: in process, or in Redis."""

from luthien_proxy.backends.policy_state.base import PolicyState
from luthien_proxy.backends.policy_state.memory import InProcessPolicyState
from luthien_proxy.backends.policy_state.redis_state import RedisPolicyState

__all__ = ["InProcessPolicyState", "PolicyState", "RedisPolicyState"]
