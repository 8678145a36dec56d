"""Retention: `luthien prune` and the background task delete only what is old, in batches."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from luthien_proxy.backends.store.retention import RetentionTask, delete_older_than, parse_duration
from tests.conftest import OpenServices


def _seed(services: object, old: int, new: int) -> None:
    writer = services.writer  # type: ignore[attr-defined]
    long_ago = datetime.now(UTC) - timedelta(days=40)
    for n in range(old):
        writer.record("aged", {"n": n}, at=long_ago)
    for n in range(new):
        writer.record("fresh", {"n": n})


async def test_delete_older_than_keeps_recent_records(open_services: OpenServices) -> None:
    services = await open_services()
    _seed(services, old=2500, new=30)
    await services.writer.flush()
    deleted = await delete_older_than(services.store, datetime.now(UTC) - timedelta(days=30), batch_size=1000)
    assert deleted == 2500
    assert await services.store.count("aged") == 0
    assert await services.store.count("fresh") == 30


async def test_background_retention_prunes_on_its_own(open_services: OpenServices) -> None:
    services = await open_services()
    _seed(services, old=10, new=5)
    await services.writer.flush()
    task = RetentionTask(services.store, days=30, interval=3600)
    task.start()
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while await services.store.count("aged"):
            assert loop.time() < deadline, "retention did not run"
            await asyncio.sleep(0.02)
    finally:
        await task.close()
    assert task.deleted == 10
    assert await services.store.count("fresh") == 5


async def _luthien(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`luthien <args>`'s main, in a thread (it runs its own event loop): its exit code (argparse's
    SystemExit included), stdout and stderr, without a subprocess's seconds of imports."""
    from luthien_proxy.cli.main import main

    try:
        code = await asyncio.to_thread(main, list(args))
    except SystemExit as exited:
        code = exited.code if isinstance(exited.code, int) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


async def test_prune_command_dry_run_then_delete(
    open_services: OpenServices, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    services = await open_services()
    _seed(services, old=7, new=3)
    await services.writer.flush()
    url = services.settings.database_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("REDIS_URL", "")
    code, out, _ = await _luthien(capsys, "prune", "--older-than", "30d", "--dry-run")
    assert code == 0 and "would delete 7 debug records" in out
    assert await services.store.count("aged") == 7
    code, out, _ = await _luthien(capsys, "prune", "--older-than", "30d")
    assert code == 0 and "deleted 7 debug records" in out
    assert await services.store.count("aged") == 0
    assert await services.store.count("fresh") == 3
    code, _, err = await _luthien(capsys, "prune", "--older-than", "soon")
    assert code == 2 and "not a duration like 30d" in err


@pytest.mark.parametrize(
    ("text", "seconds"), [("30d", 2592000), ("12h", 43200), ("90m", 5400), ("2w", 1209600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text).total_seconds() == seconds
