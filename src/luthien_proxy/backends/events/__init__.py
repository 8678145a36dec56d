"""Conversation events: the model, the bus interface and its in-process and Redis backends."""

from luthien_proxy.backends.events.bus import BusUnavailable, EventBus, Subscription
from luthien_proxy.backends.events.memory import InProcessBus
from luthien_proxy.backends.events.model import CALLS_CHANNEL, ConversationEvent, call_channel, trace_channel
from luthien_proxy.backends.events.publisher import ConversationEvents
from luthien_proxy.backends.events.redis_bus import RedisBus

__all__ = [
    "CALLS_CHANNEL",
    "BusUnavailable",
    "ConversationEvent",
    "ConversationEvents",
    "EventBus",
    "InProcessBus",
    "RedisBus",
    "Subscription",
    "call_channel",
    "trace_channel",
]
