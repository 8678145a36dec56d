"""One row of `debug_logs` as the query layer writes and reads it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


class EncodedJson(str):
    """A JSON document already encoded when it was queued: the snapshot is frozen, and not encoded twice."""

    __slots__ = ()


@dataclass(frozen=True)
class DebugRecord:
    """One row of `debug_logs`, as written (jsonblob pre-encoded) and as read back (decoded)."""

    debug_type_identifier: str
    jsonblob: Any
    time_created: datetime
    id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time_created": as_utc(self.time_created).isoformat(),
            "debug_type_identifier": self.debug_type_identifier,
            "jsonblob": self.jsonblob,
        }


def as_utc(moment: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we write is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
