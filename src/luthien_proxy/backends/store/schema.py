"""The `debug_logs` table as the query layer sees it, and the JSON lookups its indexes serve."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, MetaData, String, Table
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import Text

from luthien_proxy.wire import CALL_ID_KEY, TRACE_ID_KEY

metadata = MetaData()

#: JSONB on Postgres (indexable, compact), JSON text on SQLite.
JsonBlob = JSON().with_variant(JSONB(), "postgresql")
#: SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
RowId = BigInteger().with_variant(Integer(), "sqlite")

debug_logs = Table(
    "debug_logs",
    metadata,
    Column("id", RowId, primary_key=True, autoincrement=True),
    Column("time_created", DateTime(timezone=True), nullable=False),
    Column("debug_type_identifier", String(255), nullable=False),
    Column("jsonblob", JsonBlob, nullable=False),
)

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class json_text(ColumnElement[str]):
    """A top-level text field of a JSON column, rendered with a literal key.

    The key must be a literal (not a bound parameter) so SQLite's planner can match the query
    against the expression index built from the very same construct.
    """

    inherit_cache = True
    type = Text()
    _traverse_internals = [  # noqa: RUF012 - SQLAlchemy's declared (mutable) attribute type
        ("column", InternalTraversal.dp_clauseelement),
        ("key", InternalTraversal.dp_string),
    ]

    def __init__(self, column: Any, key: str) -> None:
        if not _KEY.match(key):
            raise ValueError(f"not a plain JSON key: {key!r}")
        self.column = column
        self.key = key


@compiles(json_text, "postgresql")
def _json_text_postgres(element: json_text, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.column, **kw)} ->> '{element.key}')"


@compiles(json_text)
def _json_text_sqlite(element: json_text, compiler: Any, **kw: Any) -> str:
    return f"json_extract({compiler.process(element.column, **kw)}, '$.{element.key}')"


call_id_expr = json_text(debug_logs.c.jsonblob, CALL_ID_KEY)
trace_id_expr = json_text(debug_logs.c.jsonblob, TRACE_ID_KEY)
