"""Storage of `debug_logs`: schema, migrations, the query layer and the batching writer."""

from luthien_proxy.storage.store import DebugLogStore, DebugRecord, StoreUnavailable
from luthien_proxy.storage.writer import DebugLogWriter

__all__ = ["DebugLogStore", "DebugLogWriter", "DebugRecord", "StoreUnavailable"]
