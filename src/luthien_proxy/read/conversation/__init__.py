"""Conversation views over debug records: replayed events and per-call summaries."""

from luthien_proxy.read.conversation.replay import replay_events
from luthien_proxy.read.conversation.view import call_view

__all__ = ["call_view", "replay_events"]
