"""`call_index`: one narrow row per call summary, for searching history fast on both backends.

The row is written with its `call:summary` record, in the same transaction of the writer's batch
(`DebugLogStore.insert_many`), keyed by the summary's own row id: the id is the paging cursor, and
the summary itself is read back from `debug_logs`. The searchable text is stored lower-cased and
found as substrings, one word at a time, through each backend's trigram index: on Postgres `LIKE`
served by a `pg_trgm` GIN index, on SQLite an FTS5 `trigram` table (`call_text`, kept by triggers).
`_text_conditions` is the one place the two differ; without either index the same `LIKE` scans.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Column, DateTime, Table, Text, text
from sqlalchemy import column as named_column
from sqlalchemy.sql.expression import ColumnElement

from luthien_proxy.backends.store.schema import RowId, metadata
from luthien_proxy.wire import CALL_ID_KEY, TRACE_ID_KEY

#: Longest value kept of an exact-match column (btree entries have a size limit on Postgres).
VALUE_CHARS = 256
#: Longest searchable text kept per call (previews are 200 characters each; decisions are clipped).
TEXT_CHARS = 4000
#: What "text" covers: the fields of a summary searched by `q`, in this order.
TEXT_FIELDS = ("request_preview", "response_preview", "decision", "tool_calls", "error")
#: At most this many words in one text search; each must occur.
MAX_TERMS = 8
#: SQLite's FTS5 table over `call_index.search_text` (migration 3), and the shortest word it finds.
TEXT_INDEX = "call_text"
INDEXED_TERM_CHARS = 3
_ACTION = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

call_index = Table(
    "call_index",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=False),
    Column("started", DateTime(timezone=True), nullable=False),
    Column("call_id", Text),
    Column("trace_id", Text),
    Column("model", Text),
    Column("key_alias", Text),
    Column("outcome", Text),
    Column("actions", Text, nullable=False),
    Column("search_text", Text, nullable=False),
)


def _value(value: Any) -> str | None:
    return str(value)[:VALUE_CHARS] if value not in (None, "") else None


def summary_text(summary: dict[str, Any]) -> str:
    """The searchable text of a summary, lower-cased: its previews, decision words, tool names and
    error, one field a line (so a word cannot match across two fields)."""
    parts: list[str] = []
    for name in TEXT_FIELDS:
        value = summary.get(name)
        if isinstance(value, list):
            parts.extend(str(v) for v in value)  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
        elif value:
            parts.append(str(value))
    return "\n".join(parts).lower()[:TEXT_CHARS]


def index_row(row_id: int, recorded_at: datetime, blob: Any) -> dict[str, Any]:
    """The `call_index` row of the summary stored as row `row_id` at `recorded_at` (never raises:
    a blob that is not a summary gives a row with nothing to match but its time)."""
    if isinstance(blob, str):
        try:
            blob = orjson.loads(str(blob))  # str(): orjson takes no subclass of str (`EncodedJson`)
        except orjson.JSONDecodeError:
            blob = None
    summary: dict[str, Any] = blob if isinstance(blob, dict) else {}  # pyright: ignore[reportUnknownVariableType]
    started = summary.get("started_at")
    at = datetime.fromtimestamp(started, UTC) if isinstance(started, int | float) else recorded_at
    actions = summary.get("actions")
    listed = [str(a) for a in actions] if isinstance(actions, list) else []  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
    return {
        "id": row_id,
        "started": at,
        "call_id": _value(summary.get(CALL_ID_KEY) or summary.get("call_id")),
        "trace_id": _value(summary.get(TRACE_ID_KEY) or summary.get("trace_id")),
        "model": _value(summary.get("model")),
        "key_alias": _value(summary.get("key_alias")),
        "outcome": _value(summary.get("outcome")),
        # Space-delimited with a space at each end, so `% block %` matches one whole action.
        "actions": f" {' '.join(sorted(set(listed)))} ",
        "search_text": summary_text(summary),
    }


class BadSearch(ValueError):
    """A search the API refuses (422), with what is wrong."""


@dataclass(frozen=True)
class CallSearch:
    """What to look for among recorded calls; every field given must match (None: any)."""

    terms: tuple[str, ...] = ()
    model: str | None = None
    key: str | None = None
    action: str | None = None
    outcome: str | None = None
    trace_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def of(
        cls,
        *,
        q: str | None = None,
        model: str | None = None,
        key: str | None = None,
        action: str | None = None,
        outcome: str | None = None,
        trace_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> CallSearch:
        """A search from the API's parameters; `BadSearch` says what is wrong with them."""
        for name, value in (("q", q), ("model", model), ("key", key), ("trace_id", trace_id)):
            if value is not None and "\x00" in value:  # Postgres refuses NUL in text
                raise BadSearch(f"{name} contains a NUL character")
        terms = tuple(dict.fromkeys(q.lower().split())) if q is not None else ()
        if q is not None and not terms:
            raise BadSearch("q is blank: give at least one word to search for")
        if len(terms) > MAX_TERMS:
            raise BadSearch(f"q has {len(terms)} words; at most {MAX_TERMS}")
        if action is not None and not _ACTION.match(action):
            raise BadSearch(f"action {action!r} is not an action name like block, edit or audit_denied")
        since, until = _utc(since), _utc(until)
        if since is not None and until is not None and since >= until:
            raise BadSearch(f"since ({since.isoformat()}) must be before until ({until.isoformat()})")
        return cls(terms, model, key, action, outcome, trace_id, since, until)

    @property
    def narrowed(self) -> bool:
        """Whether anything but the trace is filtered on."""
        return any(
            v is not None for v in (self.model, self.key, self.action, self.outcome, self.since, self.until)
        ) or bool(self.terms)

    def conditions(self, text_index: bool = False) -> list[ColumnElement[bool]]:
        """The WHERE clauses over `call_index`; `text_index`: SQLite's `call_text` exists."""
        c = call_index.c
        found = _text_conditions(self.terms, text_index)
        for column, value in (
            (c.model, self.model),
            (c.key_alias, self.key),
            (c.outcome, self.outcome),
            (c.trace_id, self.trace_id),
        ):
            if value is not None:
                found.append(column == value[:VALUE_CHARS])
        if self.action is not None:
            found.append(c.actions.like(f"% {_escape(self.action)} %", escape="\\"))
        if self.since is not None:
            found.append(c.started >= self.since)
        if self.until is not None:
            found.append(c.started < self.until)
        return found


def _text_conditions(terms: tuple[str, ...], text_index: bool) -> list[ColumnElement[bool]]:
    """Each word a substring of `search_text`. With SQLite's FTS5 trigram table, the words it can
    find (3 characters or more) are one MATCH of quoted phrases; every other word is a `LIKE`,
    which Postgres serves from its trigram index."""
    indexed = [t for t in terms if text_index and len(t) >= INDEXED_TERM_CHARS]
    found: list[ColumnElement[bool]] = [
        call_index.c.search_text.like(f"%{_escape(t)}%", escape="\\") for t in terms if t not in indexed
    ]
    if indexed:
        phrases = " AND ".join('"' + t.replace('"', '""') + '"' for t in indexed)
        matching = text(f"SELECT rowid FROM {TEXT_INDEX} WHERE {TEXT_INDEX} MATCH :phrases")
        found.append(call_index.c.id.in_(matching.bindparams(phrases=phrases).columns(named_column("rowid"))))
    return found


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _utc(moment: datetime | None) -> datetime | None:
    # Stored times are UTC (SQLite keeps no zone): a naive time is read as UTC.
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
