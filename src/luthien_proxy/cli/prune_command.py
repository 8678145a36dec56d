"""`luthien prune --older-than 30d [--dry-run]`: delete old debug records in batches."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from typing import Any

from luthien_proxy.backends.store import DebugLogStore, StoreUnavailable
from luthien_proxy.backends.store.retention import count_older_than, delete_older_than, parse_duration
from luthien_proxy.control_plane import StartupError
from luthien_proxy.settings import Settings


def _duration(text: str) -> Any:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(commands: Any) -> None:
    parser = commands.add_parser("prune", help="delete debug records older than a given age")
    parser.add_argument("--older-than", type=_duration, required=True, help="age, e.g. 30d, 12h, 90m")
    parser.add_argument("--dry-run", action="store_true", help="only count what would be deleted")
    parser.add_argument(
        "--batch-size", type=int, default=1000, help="rows per transaction (default %(default)s)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_prune(settings, args))
    return 0


async def _prune(settings: Settings, args: argparse.Namespace) -> None:
    try:
        store = await DebugLogStore.open(settings.database_url)
    except StoreUnavailable as exc:
        raise StartupError(str(exc)) from None
    cutoff = datetime.now(UTC) - args.older_than
    try:
        if args.dry_run:
            count = await count_older_than(store, cutoff)
            print(f"would delete {count} debug records created before {cutoff.isoformat()} (dry run)")
        else:
            count = await delete_older_than(store, cutoff, args.batch_size)
            print(f"deleted {count} debug records created before {cutoff.isoformat()}")
    finally:
        await store.close()
