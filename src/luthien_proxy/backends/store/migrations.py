"""Versioned schema migrations: one list, written once, applied to SQLite and Postgres alike.

Each migration is DDL built from SQLAlchemy constructs, so the dialect renders it; applied versions
are recorded in `luthien_schema_migrations`. Migrations never change once released: add a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from luthien_proxy.backends.store.schema import JsonBlob, RowId, json_text
from luthien_proxy.wire import CALL_ID_KEY, TRACE_ID_KEY

logger = logging.getLogger(__name__)

_meta = MetaData()
schema_migrations = Table(
    "luthien_schema_migrations",
    _meta,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("name", String(255), nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[Connection], None]


def _create_debug_logs(conn: Connection) -> None:
    # The table is declared here as it stood at version 1, independent of today's schema.py.
    table = Table(
        "debug_logs",
        MetaData(),
        Column("id", RowId, primary_key=True, autoincrement=True),
        Column("time_created", DateTime(timezone=True), nullable=False),
        Column("debug_type_identifier", String(255), nullable=False),
        Column("jsonblob", JsonBlob, nullable=False),
    )
    conn.execute(CreateTable(table, if_not_exists=True))
    for index in (
        Index("ix_debug_logs_type_time", table.c.debug_type_identifier, table.c.time_created),
        Index("ix_debug_logs_time", table.c.time_created),
        Index("ix_debug_logs_call_id", json_text(table.c.jsonblob, CALL_ID_KEY)),
        Index("ix_debug_logs_trace_id", json_text(table.c.jsonblob, TRACE_ID_KEY)),
    ):
        conn.execute(CreateIndex(index, if_not_exists=True))


MIGRATIONS: tuple[Migration, ...] = (Migration(1, "create_debug_logs", _create_debug_logs),)


def _apply_pending(conn: Connection) -> list[int]:
    conn.execute(CreateTable(schema_migrations, if_not_exists=True))
    applied = set(conn.execute(select(schema_migrations.c.version)).scalars())
    done: list[int] = []
    for migration in MIGRATIONS:
        if migration.version in applied:
            continue
        migration.apply(conn)
        conn.execute(
            insert(schema_migrations).values(
                version=migration.version, name=migration.name, applied_at=datetime.now(UTC)
            )
        )
        done.append(migration.version)
    return done


async def migrate(engine: AsyncEngine) -> list[int]:
    """Apply every pending migration in one transaction; return the versions applied."""
    async with engine.begin() as conn:
        done = await conn.run_sync(_apply_pending)
    if done:
        logger.info("applied migrations %s", done)
    return done
