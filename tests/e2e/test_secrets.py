"""No client key, provider key or LiteLLM secret ever lands in debug_logs, Redis traffic or logs —
checked by pushing a known secret through both front doors on both backends and searching."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import subprocess
from pathlib import Path

import openai
import pytest

from tests.conftest import REDIS_URL, require_servers
from tests.e2e.stack import RunningStack, luthien_up

pytestmark = pytest.mark.e2e


def _exercise(stack: RunningStack, body_secret: str) -> None:
    """Plain and streamed calls through both doors, with the key in Authorization and secrets in the body."""
    for base in (f"{stack.proxy_url}/v1", f"{stack.control_plane_url}/v1"):
        client = openai.OpenAI(base_url=base, api_key=stack.api_key, max_retries=0, timeout=30)
        for stream in (False, True):
            response = client.chat.completions.create(
                model="demo-echo",
                messages=[{"role": "user", "content": "keep my secrets"}],
                stream=stream,
                extra_headers={"x-custom-token": body_secret},
                extra_body={"metadata": {"api_key": body_secret}},
            )
            if stream:
                assert "".join(c.choices[0].delta.content or "" for c in response if c.choices)  # type: ignore[union-attr]
            else:
                assert response.choices[0].message.content  # type: ignore[union-attr]


def _logs(workdir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (workdir / ".luthien" / "logs").glob("*.log"))


def test_embedded_stack_keeps_secrets_out(tmp_path: Path) -> None:
    client_key = f"sk-secret-client-{secrets.token_hex(8)}"
    body_secret = f"sk-secret-body-{secrets.token_hex(8)}"
    with luthien_up(tmp_path, policy="all_caps.yaml", env={"LITELLM_MASTER_KEY": client_key}) as stack:
        _exercise(stack, body_secret)
        stack.stop()
        console = stack.output()
    with sqlite3.connect(tmp_path / ".luthien" / "luthien.db") as db:
        rows = [row[0] for row in db.execute("SELECT jsonblob FROM debug_logs")]
    assert len(rows) > 20, "the calls were recorded"
    for secret in (client_key, body_secret):
        assert not [row for row in rows if secret in row]
        assert secret not in _logs(tmp_path)
    assert body_secret not in console


def test_server_stack_keeps_secrets_out_of_postgres_and_redis(tmp_path: Path, postgres_url: str) -> None:
    require_servers()
    client_key = f"sk-secret-client-{secrets.token_hex(8)}"
    body_secret = f"sk-secret-body-{secrets.token_hex(8)}"
    monitor_log = tmp_path / "redis-monitor.log"
    with monitor_log.open("wb") as out:
        monitor = subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "monitor"], stdout=out)
    try:
        env = {"LITELLM_MASTER_KEY": client_key, "DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL}
        with luthien_up(tmp_path, policy="all_caps.yaml", env=env) as stack:
            _exercise(stack, body_secret)
            stack.stop()
    finally:
        monitor.terminate()
        monitor.wait(10)
    traffic = monitor_log.read_text(errors="replace")
    assert "luthien:conversation:" in traffic, "the monitor saw the events being published"
    rows = asyncio.run(_postgres_rows(postgres_url))
    assert len(rows) > 20
    for secret in (client_key, body_secret):
        assert secret not in traffic
        assert not [row for row in rows if secret in row]
        assert secret not in _logs(tmp_path)


async def _postgres_rows(url: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [row[0] for row in await conn.fetch("SELECT jsonblob::text FROM debug_logs")]
    finally:
        await conn.close()
