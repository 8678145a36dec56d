"""Streaming: the policy stream runner and the per-call stream context stores."""

from luthien_proxy.backends.stream_context.context_store import StreamContextStore, index_key, text_key
from luthien_proxy.backends.stream_context.memory_context import InProcessStreamContext
from luthien_proxy.backends.stream_context.redis_context import RedisStreamContext

__all__ = ["InProcessStreamContext", "RedisStreamContext", "StreamContextStore", "index_key", "text_key"]
