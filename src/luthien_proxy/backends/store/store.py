"""`DebugLogStore`: the one query layer over `debug_logs`, for SQLite and Postgres alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import desc, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from luthien_proxy.backends.store.call_index import call_index, index_row
from luthien_proxy.backends.store.call_queries import CallQueries
from luthien_proxy.backends.store.migrations import migrate
from luthien_proxy.backends.store.record import DebugRecord, EncodedJson, as_utc
from luthien_proxy.backends.store.schema import call_id_expr, debug_logs, trace_id_expr
from luthien_proxy.wire import CALL_SUMMARY_TYPE


class StoreUnavailable(RuntimeError):
    """The database could not be reached or refused the operation."""


def _dumps(value: Any) -> str:
    return value if isinstance(value, EncodedJson) else orjson.dumps(value).decode()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL: readers (the UI, the APIs) never wait for the writer, and a commit appends to the log
    instead of rewriting a rollback journal. `synchronous=NORMAL` syncs at checkpoints, not on every
    commit: a crash of the process loses nothing, a power cut may lose the last batches."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(database_url: str) -> AsyncEngine:
    """An async engine for `database_url`, creating the SQLite file's folder when needed."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            url, json_serializer=_dumps, json_deserializer=orjson.loads, connect_args={"timeout": 30}
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(
        url,
        json_serializer=_dumps,
        json_deserializer=orjson.loads,
        pool_size=5,
        max_overflow=5,
        pool_pre_ping=True,
        connect_args={"timeout": 5},
    )


class DebugLogStore(CallQueries):
    """Reads and batched writes of debug records; callers on the request path use `DebugLogWriter`."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @classmethod
    async def open(cls, database_url: str, *, run_migrations: bool = True) -> DebugLogStore:
        """Connect, check the database answers, and bring the schema up to date."""
        store = cls(create_engine(database_url))
        try:
            await store.ping()
            if run_migrations:
                await migrate(store.engine)
        except Exception:
            await store.close()
            raise
        return store

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    async def close(self) -> None:
        await self.engine.dispose()

    async def ping(self) -> None:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except (SQLAlchemyError, OSError) as exc:
            raise StoreUnavailable(f"{self.backend} database unreachable: {_reason(exc)}") from exc

    @asynccontextmanager
    async def _reading(self) -> AsyncIterator[AsyncConnection]:
        """A connection for a read; a database that is down becomes `StoreUnavailable`."""
        try:
            async with self.engine.connect() as conn:
                yield conn
        except StoreUnavailable:
            raise
        except Exception as exc:
            if _is_connectivity_error(exc):
                raise StoreUnavailable(f"{self.backend} database unavailable: {_reason(exc)}") from exc
            raise

    async def insert_many(self, records: Sequence[DebugRecord]) -> None:
        if not records:
            return
        rows = [
            {
                "time_created": r.time_created,
                "debug_type_identifier": r.debug_type_identifier,
                "jsonblob": r.jsonblob,
            }
            for r in records
        ]
        summaries = [i for i, r in enumerate(records) if r.debug_type_identifier == CALL_SUMMARY_TYPE]
        async with self.engine.begin() as conn:
            if not summaries:
                await conn.execute(insert(debug_logs), rows)
                return
            # A summary's index row is keyed by the summary's id, written in the same transaction.
            ids = await self._insert_returning_ids(conn, rows)
            index_rows = [index_row(ids[i], records[i].time_created, records[i].jsonblob) for i in summaries]
            await conn.execute(insert(call_index), index_rows)

    async def _insert_returning_ids(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[int]:
        """Insert `rows` into `debug_logs`; their ids, in order. Postgres answers them (RETURNING in
        parameter order). On SQLite that costs SQLAlchemy a statement per row, and is not needed:
        the transaction holds the only write lock and each row gets the largest rowid + 1, so the
        batch's ids are the last `len(rows)`."""
        if self.backend == "sqlite":
            await conn.execute(insert(debug_logs), rows)
            last = int((await conn.execute(select(func.max(debug_logs.c.id)))).scalar_one())
            return list(range(last - len(rows) + 1, last + 1))
        returning = insert(debug_logs).returning(debug_logs.c.id, sort_by_parameter_order=True)
        return [int(i) for i in (await conn.execute(returning, rows)).scalars().all()]

    async def types(self) -> list[dict[str, Any]]:
        """Every debug type with its row count and newest time."""
        stmt = (
            select(
                debug_logs.c.debug_type_identifier,
                func.count().label("count"),
                func.max(debug_logs.c.time_created).label("latest"),
            )
            .group_by(debug_logs.c.debug_type_identifier)
            .order_by(debug_logs.c.debug_type_identifier)
        )
        async with self._reading() as conn:
            result = await conn.execute(stmt)
            return [
                {"debug_type_identifier": t, "count": n, "latest": as_utc(latest).isoformat()}
                for t, n, latest in result.all()
            ]

    async def latest(self, debug_type: str, limit: int, offset: int = 0) -> list[DebugRecord]:
        """Records of one type, newest first."""
        stmt = (
            select(debug_logs)
            .where(debug_logs.c.debug_type_identifier == debug_type)
            .order_by(desc(debug_logs.c.time_created), desc(debug_logs.c.id))
            .limit(limit)
            .offset(offset)
        )
        return await self._records(stmt)

    async def count(self, debug_type: str) -> int:
        stmt = select(func.count()).where(debug_logs.c.debug_type_identifier == debug_type)
        async with self._reading() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def count_all(self) -> int:
        async with self._reading() as conn:
            return int((await conn.execute(select(func.count()).select_from(debug_logs))).scalar_one())

    async def by_call_id(self, call_id: str) -> list[DebugRecord]:
        """Every record of one call, oldest first."""
        stmt = (
            select(debug_logs)
            .where(call_id_expr == call_id)
            .order_by(debug_logs.c.time_created, debug_logs.c.id)
        )
        return await self._records(stmt)

    async def by_trace_id(self, trace_id: str) -> list[DebugRecord]:
        """Every record of one trace, oldest first."""
        stmt = (
            select(debug_logs)
            .where(trace_id_expr == trace_id)
            .order_by(debug_logs.c.time_created, debug_logs.c.id)
        )
        return await self._records(stmt)

    async def by_time_range(self, since: datetime | None, until: datetime | None) -> list[DebugRecord]:
        """Every record of the calls with a record in [since, until) (None: unbounded), oldest first.

        Whole calls, so a call that started before `since` is read with its start (replay needs it).
        """
        window = select(call_id_expr).where(call_id_expr.is_not(None))
        if since is not None:
            window = window.where(debug_logs.c.time_created >= since)
        if until is not None:
            window = window.where(debug_logs.c.time_created < until)
        stmt = (
            select(debug_logs)
            .where(call_id_expr.in_(window.distinct()))
            .order_by(debug_logs.c.time_created, debug_logs.c.id)
        )
        return await self._records(stmt)

    async def _records(self, stmt: Any) -> list[DebugRecord]:
        async with self._reading() as conn:
            result = await conn.execute(stmt)
            return [
                DebugRecord(
                    id=row.id,
                    time_created=row.time_created,
                    debug_type_identifier=row.debug_type_identifier,
                    jsonblob=row.jsonblob,
                )
                for row in result
            ]


def _is_connectivity_error(exc: BaseException) -> bool:
    # Drivers raise their own types when the server is gone (asyncpg's are not OSErrors).
    return isinstance(exc, SQLAlchemyError | OSError) or type(exc).__module__.startswith("asyncpg")


def _reason(exc: BaseException) -> str:
    """The innermost cause of a driver error, in one line."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
