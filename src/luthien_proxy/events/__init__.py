"""Conversation events: the model, the bus interface and its in-process and Redis backends."""

from luthien_proxy.events.bus import BusUnavailable, EventBus, Subscription
from luthien_proxy.events.memory import InProcessBus
from luthien_proxy.events.model import ConversationEvent, call_channel, trace_channel
from luthien_proxy.events.publisher import ConversationEvents
from luthien_proxy.events.redis_bus import RedisBus

__all__ = [
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
