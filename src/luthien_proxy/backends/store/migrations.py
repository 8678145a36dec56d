"""Versioned schema migrations: one list, written once, applied to SQLite and Postgres alike.

Each migration is DDL built from SQLAlchemy constructs, so the dialect renders it; applied versions
are recorded in `luthien_schema_migrations`. Migrations never change once released: add a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, String, Table, Text, insert, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.schema import CreateIndex, CreateTable

from luthien_proxy.backends.store.call_index import index_row
from luthien_proxy.backends.store.schema import JsonBlob, RowId, json_text
from luthien_proxy.wire import CALL_ID_KEY, CALL_SUMMARY_TYPE, TRACE_ID_KEY

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


#: Summaries backfilled into `call_index` per round trip.
BACKFILL_BATCH = 1000


def _create_call_index(conn: Connection) -> None:
    """`call_index` (as it stood at version 2), its indexes, and a row for every summary already
    recorded. On Postgres, a trigram index for the text search when `pg_trgm` can be created."""
    meta = MetaData()
    table = Table(
        "call_index",
        meta,
        Column("id", RowId, primary_key=True, autoincrement=False),
        Column("started", DateTime(timezone=True), nullable=False),
        *(Column(name, Text) for name in ("call_id", "trace_id", "model", "key_alias", "outcome")),
        Column("actions", Text, nullable=False),
        Column("search_text", Text, nullable=False),
    )
    conn.execute(CreateTable(table, if_not_exists=True))
    # Listings are newest first by id (the cursor): each filter's index ends with it.
    for column in ("model", "key_alias", "outcome", "trace_id"):
        index = Index(f"ix_call_index_{column}", table.c[column], table.c.id)
        conn.execute(CreateIndex(index, if_not_exists=True))
    conn.execute(CreateIndex(Index("ix_call_index_started", table.c.started), if_not_exists=True))
    if conn.dialect.name == "postgresql":
        _trigram_index(conn)
    logs = Table(
        "debug_logs",
        MetaData(),
        Column("id", RowId, primary_key=True),
        Column("time_created", DateTime(timezone=True)),
        Column("debug_type_identifier", String(255)),
        Column("jsonblob", JsonBlob),
    )
    last, total = 0, 0
    while True:
        rows = conn.execute(
            select(logs.c.id, logs.c.time_created, logs.c.jsonblob)
            .where(logs.c.debug_type_identifier == CALL_SUMMARY_TYPE, logs.c.id > last)
            .order_by(logs.c.id)
            .limit(BACKFILL_BATCH)
        ).all()
        if not rows:
            break
        conn.execute(insert(table), [index_row(r.id, r.time_created, r.jsonblob) for r in rows])
        last, total = rows[-1].id, total + len(rows)
    if total:
        logger.info("call_index: backfilled %d recorded call summaries", total)


def _trigram_index(conn: Connection) -> None:
    """Postgres only: a trigram GIN index serving `search_text LIKE '%...%'`. Without `pg_trgm`
    (not installed, or no right to create it) the search works unindexed; docs/observability.md
    says how to add it later."""
    try:
        with conn.begin_nested():
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            conn.execute(
                text(
                    "CREATE INDEX IF NOT EXISTS ix_call_index_text_trgm "
                    "ON call_index USING gin (search_text gin_trgm_ops)"
                )
            )
    except DBAPIError as exc:
        logger.warning("call_index: no trigram index, text search will scan (%s)", str(exc).splitlines()[0])


def _sqlite_text_index(conn: Connection) -> None:
    """SQLite only: `call_text`, an FTS5 trigram table over `call_index.search_text` (external
    content: the text is not stored twice), kept by triggers on insert and delete, and built from
    the rows already there. Without FTS5's trigram tokenizer (SQLite before 3.34) the text search
    scans instead (`call_index._text_conditions`)."""
    if conn.dialect.name != "sqlite":
        return
    try:
        with conn.begin_nested():
            conn.execute(
                text(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS call_text USING fts5(search_text, "
                    "content='call_index', content_rowid='id', tokenize='trigram')"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER IF NOT EXISTS call_text_insert AFTER INSERT ON call_index BEGIN "
                    "INSERT INTO call_text(rowid, search_text) VALUES (new.id, new.search_text); END"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER IF NOT EXISTS call_text_delete AFTER DELETE ON call_index BEGIN "
                    "INSERT INTO call_text(call_text, rowid, search_text) "
                    "VALUES ('delete', old.id, old.search_text); END"
                )
            )
            conn.execute(text("INSERT INTO call_text(call_text) VALUES ('rebuild')"))
    except DBAPIError as exc:
        reason = str(exc).splitlines()[0]
        logger.warning("call_index: no FTS5 trigram table, text search will scan (%s)", reason)


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "create_debug_logs", _create_debug_logs),
    Migration(2, "create_call_index", _create_call_index),
    Migration(3, "sqlite_call_text_index", _sqlite_text_index),
)


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
