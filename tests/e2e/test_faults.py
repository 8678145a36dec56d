"""Faults survived: Postgres and Redis going away under load, and a graceful stop under load.

These stop and restart the machine's own Postgres and Redis (as `.ci/run` starts them), so they
run one at a time and always bring the service back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL, require_servers
from tests.e2e.stack import REPO
from tests.support.processes import ManagedProcess, free_port, luthien
from tests.support.stream_client import run_stream

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = float(os.environ.get("LUTHIEN_FAULT_OUTAGE_SECONDS", "30"))
PG_CLUSTER = sorted(os.listdir("/etc/postgresql"))[-1] if os.path.isdir("/etc/postgresql") else "15"
REDIS_START = [
    "redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379", "--save", "",
    "--appendonly", "no", "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log",
]  # fmt: skip


def _hook(n: int, prefix: str) -> dict[str, object]:
    return {"data": {"messages": [{"role": "user", "content": f"m{n}"}], "litellm_call_id": f"{prefix}-{n}"}}


def _wait(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"{what} within {timeout}s"
        time.sleep(0.1)


@contextlib.contextmanager
def _control_plane(workdir: Path, env: dict[str, str]) -> Iterator[tuple[str, ManagedProcess]]:
    port = free_port()
    base = {
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "LUTHIEN_POLICY_CONFIG": str(REPO / "config" / "all_caps.yaml"),
    }
    with ManagedProcess(
        luthien("control-plane", "--port", str(port)),
        env={**base, **env},
        cwd=workdir,
        log=workdir / "cp.log",
    ) as process:
        process.wait_http_ok(f"http://127.0.0.1:{port}/health")
        yield f"127.0.0.1:{port}", process


def _postgres_up() -> bool:
    return subprocess.run(["pg_isready", "-h", "127.0.0.1", "-q"]).returncode == 0


def test_postgres_outage_under_load_loses_no_record(tmp_path: Path, postgres_url: str) -> None:
    require_servers()
    sent = 0
    # A 30 s outage at full speed queues ~100k records: size the (bounded) queue for it, as an
    # operator expecting such outages would; overflow itself is covered by the writer's own tests.
    env = {"DATABASE_URL": postgres_url, "LUTHIEN_WRITE_QUEUE_SIZE": "400000"}
    with (
        _control_plane(tmp_path, env) as (address, _),
        httpx.Client(base_url=f"http://{address}", timeout=10) as client,
    ):
        for _ in range(200):
            assert client.post("/api/hooks/async_pre_call_hook", json=_hook(sent, "pg")).status_code == 200
            sent += 1
        subprocess.run(["pg_ctlcluster", PG_CLUSTER, "main", "stop", "-m", "fast"], check=True)
        try:
            outage_ends = time.monotonic() + OUTAGE_SECONDS
            while time.monotonic() < outage_ends:
                response = client.post("/api/hooks/async_pre_call_hook", json=_hook(sent, "pg"))
                assert response.status_code == 200, "requests keep being served while Postgres is down"
                sent += 1
            health = client.get("/health")
            assert health.status_code == 503 and health.json()["store"]["ok"] is False
            assert health.json()["write_queue"]["pending"] > 0
            assert client.get("/api/debug/types").status_code == 503
        finally:
            subprocess.run(["pg_ctlcluster", PG_CLUSTER, "main", "start"], check=True)
            _wait(_postgres_up, 60, "Postgres back")
        _wait(lambda: client.get("/health").json()["write_queue"]["pending"] == 0, 120, "queue drained")
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["write_queue"]["dropped"] == 0
    rows = asyncio.run(_count(postgres_url, "pg-%"))
    assert sent > 400
    assert rows == 2 * sent, f"{rows} rows for {sent} hooks"


async def _count(url: str, pattern: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT COUNT(*) FROM debug_logs WHERE jsonblob->>'litellm_call_id' LIKE $1", pattern
            )
        )
    finally:
        await conn.close()


def _redis_up() -> bool:
    return subprocess.run(["redis-cli", "-h", "127.0.0.1", "ping"], capture_output=True).returncode == 0


def test_redis_outage_sse_reports_and_recovers_and_streams_still_police(
    tmp_path: Path, postgres_url: str
) -> None:
    require_servers()
    lines: list[str] = []
    with _control_plane(tmp_path, {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL}) as (address, _):
        stop_reading = threading.Event()

        def read_sse() -> None:
            with (
                httpx.Client(timeout=None) as sse,
                sse.stream(
                    "GET",
                    f"http://{address}/api/hooks/conversation/stream_by_trace",
                    params={"trace_id": "redis-fault"},
                ) as response,
            ):
                for line in response.iter_lines():
                    lines.append(line)
                    if stop_reading.is_set():
                        return

        reader = threading.Thread(target=read_sse, daemon=True)
        reader.start()
        _wait(lambda: ": connected" in lines, 10, "SSE connected")
        subprocess.run(["redis-cli", "-h", "127.0.0.1", "shutdown", "nosave"], capture_output=True)
        try:
            _wait(lambda: not _redis_up(), 10, "Redis stopped")
            _wait(lambda: "event: bus_error" in lines, 20, "the SSE client told about the outage")
            result = asyncio.run(run_stream(address, "during-outage", ["still ", "policed"]))
            assert result.text == "STILL POLICED", "streams are policed while Redis is down"
        finally:
            subprocess.run(REDIS_START, check=True)
            _wait(_redis_up, 20, "Redis back")
        _wait(lambda: "event: bus_recovered" in lines, 30, "the SSE client told about the recovery")
        with httpx.Client(base_url=f"http://{address}") as client:
            payload = {
                "data": {"messages": [], "litellm_call_id": "after", "litellm_trace_id": "redis-fault"}
            }
            assert client.post("/api/hooks/async_pre_call_hook", json=payload).status_code == 200
        _wait(
            lambda: any(line.startswith("data: ") and '"after"' in line for line in lines),
            10,
            "events flow again",
        )
        stop_reading.set()


def test_sigterm_under_load_loses_no_queued_record(tmp_path: Path) -> None:
    import sqlite3

    async def load_then_stop(address: str, process: ManagedProcess) -> int:
        """16 workers send hooks until the server goes; SIGTERM lands while requests are in flight."""
        accepted = 0
        counter = iter(range(1_000_000))
        async with httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client:

            async def worker() -> None:
                nonlocal accepted
                while True:
                    try:
                        response = await client.post(
                            "/api/hooks/async_pre_call_hook", json=_hook(next(counter), "term")
                        )
                    except httpx.HTTPError:
                        return
                    if response.status_code != 200:
                        return
                    accepted += 1
                    if accepted == 400:
                        process.process.send_signal(signal.SIGTERM)

            await asyncio.gather(*(worker() for _ in range(16)))
        return accepted

    with _control_plane(tmp_path, {"LUTHIEN_WRITE_BATCH_SIZE": "50"}) as (address, process):
        accepted = asyncio.run(load_then_stop(address, process))
        assert process.process.wait(30) in (0, -signal.SIGTERM)
    with sqlite3.connect(tmp_path / ".luthien" / "luthien.db") as db:
        rows = db.execute("SELECT COUNT(*) FROM debug_logs").fetchone()[0]
    assert accepted >= 400
    assert rows == 2 * accepted, f"{rows} rows for {accepted} accepted hooks"
