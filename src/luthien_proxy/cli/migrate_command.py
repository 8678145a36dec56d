"""`luthien migrate`: bring the `debug_logs` schema up to date and exit."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from luthien_proxy.backends.store import DebugLogStore, StoreUnavailable
from luthien_proxy.backends.store.migrations import MIGRATIONS, migrate
from luthien_proxy.control_plane import StartupError
from luthien_proxy.settings import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser("migrate", help="apply pending database migrations and exit")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    asyncio.run(_migrate(settings))
    return 0


async def _migrate(settings: Settings) -> None:
    try:
        store = await DebugLogStore.open(settings.database_url, run_migrations=False)
    except StoreUnavailable as exc:
        raise StartupError(str(exc)) from None
    try:
        applied = await migrate(store.engine)
    finally:
        await store.close()
    latest = MIGRATIONS[-1].version
    if applied:
        print(f"applied migrations {applied} on {store.backend}; schema at version {latest}")
    else:
        print(f"{store.backend} schema already at version {latest}; nothing to do")
