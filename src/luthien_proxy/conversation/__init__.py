"""Conversation views over debug records: replayed events and per-call summaries."""

from luthien_proxy.conversation.replay import replay_events
from luthien_proxy.conversation.view import call_view

__all__ = ["call_view", "replay_events"]
