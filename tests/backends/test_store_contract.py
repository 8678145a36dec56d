"""The store and its writer, run against SQLite and Postgres with the same assertions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from luthien_proxy.backends.store import DebugLogStore, DebugLogWriter
from luthien_proxy.backends.store.migrations import MIGRATIONS, migrate, schema_migrations
from luthien_proxy.backends.store.schema import call_id_expr, debug_logs
from tests.conftest import Backend, OpenServices


async def test_migrations_are_recorded_and_idempotent(open_services: OpenServices) -> None:
    services = await open_services()
    assert await migrate(services.store.engine) == []
    async with services.store.engine.connect() as conn:
        versions = (await conn.execute(select(schema_migrations.c.version))).scalars().all()
    assert sorted(versions) == [m.version for m in MIGRATIONS]


async def test_lookups_by_call_trace_and_type(open_services: OpenServices) -> None:
    services = await open_services()
    for i in range(9):
        services.writer.record(
            "hook:test" if i % 2 else "hook_result:test",
            {
                "litellm_call_id": f"call-{i % 3}",
                "litellm_trace_id": "trace-A" if i < 6 else "trace-B",
                "i": i,
            },
        )
    await services.writer.flush()
    store = services.store
    assert [r.jsonblob["i"] for r in await store.by_call_id("call-1")] == [1, 4, 7]
    assert [r.jsonblob["i"] for r in await store.by_trace_id("trace-B")] == [6, 7, 8]
    assert await store.by_call_id("call-none") == []
    types = {t["debug_type_identifier"]: t["count"] for t in await store.types()}
    assert types == {"hook:test": 4, "hook_result:test": 5}
    newest = await store.latest("hook:test", limit=2)
    assert [r.jsonblob["i"] for r in newest] == [7, 5]
    assert [r.jsonblob["i"] for r in await store.latest("hook:test", limit=2, offset=2)] == [3, 1]
    assert newest[0].to_json()["time_created"].endswith("+00:00")


async def test_time_range_reads_whole_calls(open_services: OpenServices) -> None:
    services = await open_services()
    t0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    at = {"a0": (t0, "a"), "b1": (t0 + timedelta(minutes=1), "b"), "a2": (t0 + timedelta(minutes=2), "a")}
    at |= {"c9": (t0 + timedelta(minutes=9), "c"), "none": (t0 + timedelta(minutes=1), None)}
    for name, (moment, call) in at.items():
        services.writer.record("hook:test", {"litellm_call_id": call, "name": name}, at=moment)
    await services.writer.flush()
    store = services.store
    since, until = t0 + timedelta(minutes=1), t0 + timedelta(minutes=9)
    # Call a started before `since`: it is read whole; c is at `until`, outside; no call id, no call.
    assert [r.jsonblob["name"] for r in await store.by_time_range(since, until)] == ["a0", "b1", "a2"]
    assert [r.jsonblob["name"] for r in await store.by_time_range(until, None)] == ["c9"]
    assert len(await store.by_time_range(None, None)) == 4


async def test_indexes_serve_the_call_id_lookup(open_services: OpenServices, backend: Backend) -> None:
    services = await open_services()
    query = select(debug_logs.c.id).where(call_id_expr == "x")
    compiled = str(query.compile(services.store.engine, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if backend.name == "embedded" else "EXPLAIN "
    async with services.store.engine.connect() as conn:
        if backend.name == "server":
            await conn.execute(text("SET enable_seqscan = off"))
        plan = " ".join(str(row) for row in (await conn.execute(text(explain + compiled))).all())
    assert "ix_debug_logs_call_id" in plan


async def test_writer_flushes_everything_on_close(open_services: OpenServices) -> None:
    services = await open_services()
    writer = DebugLogWriter(services.store, queue_size=5000, batch_size=64)
    writer.start()
    for i in range(1500):
        writer.record("bulk", {"i": i})
    await writer.close()
    assert await services.store.count("bulk") == 1500
    assert writer.written == 1500


async def test_recorded_blob_is_a_snapshot(open_services: OpenServices) -> None:
    services = await open_services()
    blob = {"litellm_call_id": "snap", "messages": ["original"]}
    services.writer.record("snapshot", blob)
    blob["messages"].append("changed later")
    await services.writer.flush()
    [row] = await services.store.by_call_id("snap")
    assert row.jsonblob["messages"] == ["original"]


async def test_full_queue_drops_and_counts_without_blocking(open_services: OpenServices) -> None:
    services = await open_services()
    writer = DebugLogWriter(services.store, queue_size=3)  # not started: nothing drains
    for i in range(5):
        writer.record("overflow", {"i": i})
    assert writer.dropped == 2
    assert writer.status()["pending"] == 3


async def test_writer_retries_a_failed_batch_until_it_lands(
    open_services: OpenServices, backend: Backend
) -> None:
    services = await open_services()
    flaky = _FailingStore(services.store, failures=2)
    writer = DebugLogWriter(flaky, batch_size=10)  # type: ignore[arg-type]
    writer.start()
    writer.record("retried", {"i": 1})
    await writer.close()
    assert writer.failed_attempts == 2
    assert await services.store.count("retried") == 1


class _FailingStore:
    """Wraps the real store; its first `failures` inserts raise as a dropped connection would."""

    def __init__(self, store: DebugLogStore, failures: int) -> None:
        self.store = store
        self.failures = failures

    async def insert_many(self, records: list) -> None:  # type: ignore[type-arg]
        if self.failures:
            self.failures -= 1
            raise ConnectionError("database went away")
        await self.store.insert_many(records)


@pytest.mark.parametrize("url", ["postgresql+asyncpg://postgres@127.0.0.1:1/none"])
async def test_unreachable_postgres_is_one_clear_error(url: str) -> None:
    from luthien_proxy.backends.store import StoreUnavailable

    with pytest.raises(StoreUnavailable) as caught:
        await DebugLogStore.open(url)
    assert "postgresql database unreachable" in str(caught.value)
