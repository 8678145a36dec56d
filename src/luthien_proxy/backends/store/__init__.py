"""Storage of `debug_logs`: schema, migrations, the query layer and the batching writer."""

from luthien_proxy.backends.store.store import DebugLogStore, DebugRecord, StoreUnavailable
from luthien_proxy.backends.store.writer import DebugLogWriter

__all__ = ["DebugLogStore", "DebugLogWriter", "DebugRecord", "StoreUnavailable"]
