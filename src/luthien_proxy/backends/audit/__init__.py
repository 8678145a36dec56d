"""The audit queue: tool calls held for a person's decision, in process or in Redis."""

from luthien_proxy.backends.audit.item import (
    AUDITS_CHANNEL,
    DECISIONS,
    ON_TIMEOUT,
    STATUSES,
    AuditItem,
    Status,
    item_channel,
)
from luthien_proxy.backends.audit.memory import InProcessAuditStorage
from luthien_proxy.backends.audit.queue import AlreadyDecided, AuditQueue, AuditStorage, UnknownItem
from luthien_proxy.backends.audit.redis_storage import RedisAuditStorage

__all__ = [
    "AUDITS_CHANNEL",
    "DECISIONS",
    "ON_TIMEOUT",
    "STATUSES",
    "AlreadyDecided",
    "AuditItem",
    "AuditQueue",
    "AuditStorage",
    "InProcessAuditStorage",
    "RedisAuditStorage",
    "Status",
    "UnknownItem",
    "item_channel",
]
