"""The call-level reads of the query layer: recent calls and traces, the call summaries the index
lists and history searches (`pipeline.call_summary`, `call_index`), paged, and a trace's records
for export. Part of `DebugLogStore`."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Any

from sqlalchemy import case, desc, distinct, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from luthien_proxy.backends.store.call_index import TEXT_INDEX, CallSearch, call_index
from luthien_proxy.backends.store.record import DebugRecord, as_utc
from luthien_proxy.backends.store.schema import call_id_expr, debug_logs, json_text, trace_id_expr
from luthien_proxy.wire import COMPLETION_TYPES

#: How many of the newest records the "recent calls / traces" lookups look through.
RECENT_WINDOW = 20_000
EVERY_CALL = CallSearch()


class CallQueries:
    """Queries over whole calls; `DebugLogStore` provides the connection and the record reader."""

    engine: AsyncEngine
    _text_index: bool | None = None

    def _reading(self) -> AbstractAsyncContextManager[AsyncConnection]:
        raise NotImplementedError

    async def _records(self, stmt: Any) -> list[DebugRecord]:
        raise NotImplementedError

    async def call_summaries(
        self, limit: int, *, before: int | None = None, search: CallSearch = EVERY_CALL
    ) -> list[DebugRecord]:
        """Finished calls' summaries matching `search`, newest first; `before` (a summary's record
        id, the previous page's last) pages. Served by `call_index`, one query for both backends."""
        text_index = bool(search.terms) and await self._has_text_index()
        stmt = (
            select(debug_logs)
            .select_from(call_index.join(debug_logs, debug_logs.c.id == call_index.c.id))
            .where(*search.conditions(text_index))
        )
        if before is not None:
            # On both tables: the planner may walk either one's primary key from the cursor down.
            stmt = stmt.where(call_index.c.id < before, debug_logs.c.id < before)
        return await self._records(stmt.order_by(desc(call_index.c.id)).limit(limit))

    async def _has_text_index(self) -> bool:
        """Whether SQLite's FTS5 table over the index exists (Postgres needs none: its trigram
        index serves `LIKE` itself). Asked once per store."""
        if self._text_index is None:
            found = False
            if self.engine.dialect.name == "sqlite":
                query = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name")
                async with self._reading() as conn:
                    found = (await conn.execute(query, {"name": TEXT_INDEX})).first() is not None
            self._text_index = found
        return self._text_index

    async def trace_records(self, trace_id: str, *, after: int = 0, limit: int = 500) -> list[DebugRecord]:
        """A page of one trace's records in the order they were written (`after`: the previous
        page's last id), for exporting a trace however long without holding it all."""
        stmt = (
            select(debug_logs)
            .where(trace_id_expr == trace_id, debug_logs.c.id > after)
            .order_by(debug_logs.c.id)
            .limit(limit)
        )
        return await self._records(stmt)

    async def recent_calls(self, limit: int, window: int = RECENT_WINDOW) -> list[dict[str, Any]]:
        """Calls seen in the newest `window` records, newest activity first, with record counts."""
        recent = self._recent_window(window)
        # A call is over once its success/failure/stream summary is in, or a policy rejected it.
        finished = or_(recent.c.debug_type_identifier.in_(COMPLETION_TYPES), recent.c.decision.is_not(None))
        rows = await self._latest_groups(
            recent,
            "call_id",
            limit,
            func.max(recent.c.trace_id).label("trace_id"),
            func.min(recent.c.time_created).label("first"),
            func.max(case((finished, 1), else_=0)).label("completed"),
        )
        return [
            {
                "call_id": row.call_id,
                "trace_id": row.trace_id,
                "event_count": row.event_count,
                "first": as_utc(row.first).isoformat(),
                "latest": as_utc(row.latest).isoformat(),
                "status": "completed" if row.completed else "in_progress",
            }
            for row in rows
        ]

    async def recent_traces(self, limit: int, window: int = RECENT_WINDOW) -> list[dict[str, Any]]:
        """Traces seen in the newest `window` records, newest activity first, with call counts."""
        recent = self._recent_window(window)
        call_count = func.count(distinct(recent.c.call_id)).label("call_count")
        rows = await self._latest_groups(recent, "trace_id", limit, call_count)
        return [
            {
                "trace_id": row.trace_id,
                "call_count": row.call_count,
                "event_count": row.event_count,
                "latest": as_utc(row.latest).isoformat(),
            }
            for row in rows
        ]

    async def _latest_groups(self, recent: Any, key: str, limit: int, *columns: Any) -> list[Any]:
        """Rows of `recent` grouped by `key` (skipping none), with `columns`, `event_count` and
        `latest`, the most recently active `limit` groups first."""
        group = recent.c[key]
        stmt = (
            select(
                group,
                *columns,
                func.count().label("event_count"),
                func.max(recent.c.time_created).label("latest"),
            )
            .where(group.is_not(None))
            .group_by(group)
            .order_by(desc("latest"))
            .limit(limit)
        )
        async with self._reading() as conn:
            return list((await conn.execute(stmt)).all())

    def _recent_window(self, window: int) -> Any:
        # Grouping only the newest rows keeps "recent" lookups fast however large the table grows.
        return (
            select(
                call_id_expr.label("call_id"),
                trace_id_expr.label("trace_id"),
                json_text(debug_logs.c.jsonblob, "decision").label("decision"),
                debug_logs.c.debug_type_identifier,
                debug_logs.c.time_created,
            )
            .order_by(desc(debug_logs.c.id))
            .limit(window)
            .subquery("recent")
        )
