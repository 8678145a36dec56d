"""Shared fixtures: the two backends every store/bus/API test runs against, and the suite's guards.

`embedded` is a fresh SQLite file and the in-process bus; `server` is the local Postgres and Redis.
With LUTHIEN_REQUIRE_SERVICES=1 (as CI sets) a missing server fails the run instead of skipping.
Every test fails if it reached a non-loopback address or blocked an event loop (tests/support/
guards.py).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import httpx
import pytest

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.doors.litellm.callback.launcher import apply_offline_env
from luthien_proxy.policies import LuthienPolicy, NoOpPolicy
from luthien_proxy.settings import Settings
from tests.support.guards import install as install_guards
from tests.support.guards import suite_guards  # noqa: F401  (autouse fixture, used by every test)

# Before any test module imports litellm: it fetches a model-cost map at import time otherwise.
apply_offline_env()
# Installed at import, so collection and session fixtures are guarded too.
install_guards()

POSTGRES_ADMIN_URL = os.environ.get("LUTHIEN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LUTHIEN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("LUTHIEN_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_servers() -> None:
    """Fail (under CI) or skip (locally) when Postgres or Redis is not listening."""
    missing = [
        name for name, port in (("Postgres", 5432), ("Redis", 6379)) if not _reachable("127.0.0.1", port)
    ]
    if missing:
        message = f"{' and '.join(missing)} not reachable on 127.0.0.1"
        if REQUIRE_SERVICES:
            pytest.fail(f"{message}, and LUTHIEN_REQUIRE_SERVICES=1 requires them")
        pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway database for this test session, dropped at the end."""
    require_servers()
    import asyncpg

    name = f"luthien_test_{uuid.uuid4().hex[:10]}"
    admin = POSTGRES_ADMIN_URL

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@dataclass(frozen=True)
class Backend:
    name: str
    database_url: str | None
    redis_url: str | None

    def settings(self, **overrides: object) -> Settings:
        env = {"LUTHIEN_POLICY_CONFIG": "", "LUTHIEN_LOG_LEVEL": "warning"}
        if self.database_url:
            env["DATABASE_URL"] = self.database_url
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        return Settings.from_env(env, env_file=Path("/nonexistent")).with_overrides(**overrides)


@pytest.fixture(params=["embedded", "server"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "embedded":
        return Backend("embedded", f"sqlite:///{tmp_path / 'luthien.db'}", None)
    url = request.getfixturevalue("postgres_url")
    return Backend("server", url, REDIS_URL)


async def _truncate(services: ControlPlaneServices) -> None:
    from sqlalchemy import delete

    from luthien_proxy.backends.store.call_index import call_index
    from luthien_proxy.backends.store.schema import debug_logs

    async with services.store.engine.begin() as conn:
        await conn.execute(delete(call_index))
        await conn.execute(delete(debug_logs))


class OpenServices(Protocol):
    async def __call__(
        self, policy: LuthienPolicy | None = None, **overrides: object
    ) -> ControlPlaneServices: ...


@pytest.fixture
async def open_services(backend: Backend) -> AsyncIterator[OpenServices]:
    """A factory opening services on `backend` (fresh table), closed at teardown if still open."""
    opened: list[ControlPlaneServices] = []

    async def factory(policy: LuthienPolicy | None = None, **overrides: object) -> ControlPlaneServices:
        services = await ControlPlaneServices.open(
            backend.settings(**overrides), policy=policy or NoOpPolicy()
        )
        if not opened:
            await _truncate(services)
        opened.append(services)
        return services

    yield factory
    for services in opened:
        await services.close()


def api_client(services: ControlPlaneServices) -> httpx.AsyncClient:
    """An HTTP client talking to the app in-process (services already opened by the test)."""
    app = create_app(services.settings, services)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://localhost")
