"""`luthien control-plane` and `luthien migrate` as real processes, as a user runs them."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.conftest import REDIS_URL, require_servers
from tests.support.processes import ManagedProcess, free_port, luthien

CLEAN_ENV = {"LUTHIEN_LOG_LEVEL": "info", "DATABASE_URL": "", "REDIS_URL": "", "LUTHIEN_POLICY_CONFIG": ""}


def test_control_plane_starts_embedded_and_flushes_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    with ManagedProcess(
        luthien("control-plane", "--port", str(port)), env=CLEAN_ENV, cwd=tmp_path, log=tmp_path / "cp.log"
    ) as cp:
        health = cp.wait_http_ok(f"http://127.0.0.1:{port}/health").json()
        assert health["store"]["backend"] == "sqlite" and health["bus"]["backend"] == "memory"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            for n in range(200):
                body = {"data": {"messages": [], "litellm_call_id": f"cli-{n}"}}
                assert client.post("/api/hooks/async_pre_call_hook", json=body).status_code == 200
        assert cp.stop() in (0, -15), cp.output()  # uvicorn re-raises SIGTERM after a graceful stop
        assert "Application shutdown complete" in cp.output()
    database = tmp_path / ".luthien" / "luthien.db"
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT COUNT(*) FROM debug_logs").fetchone()[0] == 400


def test_control_plane_runs_on_postgres_and_redis(tmp_path: Path, postgres_url: str) -> None:
    require_servers()
    port = free_port()
    env = {**CLEAN_ENV, "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL}
    with ManagedProcess(
        luthien("control-plane", "--port", str(port)), env=env, cwd=tmp_path, log=tmp_path / "cp.log"
    ) as cp:
        health = cp.wait_http_ok(f"http://127.0.0.1:{port}/health").json()
    assert health["store"]["backend"] == "postgresql"
    assert health["bus"]["backend"] == "redis"


@pytest.mark.parametrize(
    ("env", "code", "fragment"),
    [
        ({"LUTHIEN_PORT": "not-a-port"}, 2, "LUTHIEN_PORT must be a port"),
        ({"REDIS_URL": "redis://127.0.0.1:1/0"}, 1, "Redis unreachable"),
        ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}, 1, "postgresql database unreachable"),
        ({"LUTHIEN_POLICY_CONFIG": "missing.yaml"}, 1, "policy config missing.yaml does not exist"),
        ({"LUTHIEN_HOST": "0.0.0.0"}, 1, "set LUTHIEN_ADMIN_KEY and LUTHIEN_PROXY_TOKEN"),
    ],
)
def test_bad_start_is_one_clear_line(tmp_path: Path, env: dict[str, str], code: int, fragment: str) -> None:
    result = subprocess.run(
        luthien("control-plane"),
        env={**_inherit(), **CLEAN_ENV, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == code
    lines = result.stderr.strip().splitlines()
    assert fragment in lines[-1]
    assert "Traceback" not in result.stderr


def test_migrate_command_reports_what_it_did(tmp_path: Path) -> None:
    env = {**_inherit(), **CLEAN_ENV}
    first = subprocess.run(
        luthien("migrate"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    second = subprocess.run(
        luthien("migrate"), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert first.returncode == 0 and "applied migrations [1]" in first.stdout
    assert second.returncode == 0 and "nothing to do" in second.stdout


def _inherit() -> dict[str, str]:
    import os

    return dict(os.environ)
