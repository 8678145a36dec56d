"""`GET /api/status` and `luthien status --url` against it: backends, policy, write queue, last
error (redacted), healthy or not in the exit code, an unreachable URL in one line."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
from pathlib import Path

import pytest

from luthien_proxy.backends.store import StoreUnavailable
from luthien_proxy.cli.main import main
from luthien_proxy.control_plane import create_app
from luthien_proxy.tooling.stack.state import write_state
from luthien_proxy.tooling.stack.status import NEEDS_KEY
from tests.conftest import OpenServices, api_client
from tests.support.live_server import serve_app
from tests.support.processes import free_port

ADMIN = "admin-key-for-status-0123456789"
SECRET = "sk-live-0123456789abcdefghijkl"
embedded_only = pytest.mark.parametrize("backend", ["embedded"], indirect=True)


async def test_status_needs_the_admin_key_and_tells_backends_policy_queue_and_last_error(
    open_services: OpenServices,
) -> None:
    services = await open_services(admin_key=ADMIN)
    async with api_client(services) as client:
        anonymous = await client.get("/api/status")
        logging.getLogger("luthien_proxy.tests.status").error(
            "upstream refused %s at postgresql://luthien:hunter2@db:5432/x", SECRET
        )
        answer = await client.get("/api/status", headers={"authorization": f"Bearer {ADMIN}"})
    assert anonymous.status_code == 401
    assert answer.status_code == 200
    body = answer.json()
    assert body["healthy"] is True and body["status"] == "ok"
    assert body["store"]["backend"] == services.store.backend and body["store"]["ok"]
    assert "@" not in body["store"]["location"] and "+" not in body["store"]["location"].split("://")[0]
    assert body["bus"]["backend"] == services.bus.backend
    assert body["policy"]["name"] == "NoOpPolicy"
    assert body["write_queue"]["pending"] >= 0 and body["write_queue"]["capacity"] > 0
    assert body["instance_id"] and body["uptime_seconds"] >= 0 and body["version"]
    error = body["last_error"]
    assert error["logger"] == "luthien_proxy.tests.status" and error["level"] == "ERROR"
    assert error["message"].startswith("upstream refused [REDACTED] at postgresql://***@db:5432/x")
    assert SECRET not in answer.text and "hunter2" not in answer.text


def _run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@embedded_only
async def test_luthien_status_url_reads_a_running_control_plane(
    open_services: OpenServices, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    services = await open_services(admin_key=ADMIN)
    async with serve_app(create_app(services.settings, services)) as address:
        url = f"http://{address}"
        # In a thread: the CLI runs its own event loop while this one serves.
        code, out, _ = await asyncio.to_thread(
            _run_cli, ["status", "--url", url, "--admin-key", ADMIN], capsys
        )
        assert code == 0, out
        assert out.splitlines()[0].startswith("Luthien is healthy")
        assert url in out and "NoOpPolicy" in out and "pending of" in out and "last error" in out
        code, out, _ = await asyncio.to_thread(_run_cli, ["status", "--url", url, "--json"], capsys)
        report = json.loads(out)
        assert code == 0 and report["healthy"] and report["details"] == NEEDS_KEY, "no key: /health only"
        assert report["control_plane"]["write_queue"]["capacity"] == services.settings.write_queue_size

        async def store_down() -> None:
            raise StoreUnavailable("sqlite database unreachable: disk I/O error")

        monkeypatch.setattr(services.store, "ping", store_down)
        code, out, _ = await asyncio.to_thread(
            _run_cli, ["status", "--url", url, "--admin-key", ADMIN], capsys
        )
    assert code == 1
    assert out.splitlines()[0].startswith(
        "Luthien is UNHEALTHY: store (sqlite) unavailable: sqlite database unreachable: disk I/O error"
    )


def test_an_unreachable_url_exits_1_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    code, out, err = _run_cli(["status", "--url", url, "--timeout", "2"], capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"luthien: control plane {url} unreachable: ")


def test_a_stale_stack_file_is_reported_not_believed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    (tmp_path / ".luthien").mkdir()
    write_state(tmp_path / ".luthien", {"pid": gone.pid, "processes": []})
    code, out, err = _run_cli(["status"], capsys)
    assert code == 1 and out == "" and err.count("\n") == 1
    assert f"(pid {gone.pid}) is not running" in err
