"""`luthien control-plane` and `luthien migrate` as real processes, as a user runs them."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from pathlib import Path

import httpx
import pytest

from luthien_proxy.cli.main import build_parser
from luthien_proxy.control_plane import StartupError
from luthien_proxy.tooling.stack.ports import require_free_ports
from tests.support.cli_main import as_a_fresh_process
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


# `luthien control-plane` on Postgres and Redis (the backends chosen from DATABASE_URL / REDIS_URL,
# reported by /health) is checked once, as `luthien up` runs it: tests/e2e/test_up_lifecycle.py's
# scale-out test.


BAD_STARTS = [
    ({"LUTHIEN_PORT": "not-a-port"}, 2, "LUTHIEN_PORT must be a port"),
    ({"REDIS_URL": "redis://127.0.0.1:1/0"}, 1, "Redis unreachable"),
    ({"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}, 1, "postgresql database unreachable"),
    ({"LUTHIEN_POLICY_CONFIG": "missing.yaml"}, 1, "policy config missing.yaml does not exist"),
    ({"LUTHIEN_HOST": "0.0.0.0"}, 1, "set LUTHIEN_ADMIN_KEY and LUTHIEN_PROXY_TOKEN"),
]


def test_bad_start_is_one_clear_line_from_the_real_process(tmp_path: Path) -> None:
    """One bad start as a real process: the exit code and the last stderr line reach the shell."""
    env, code, fragment = BAD_STARTS[0]
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


@pytest.mark.parametrize(("env", "code", "fragment"), BAD_STARTS)
def test_bad_start_is_one_clear_line(
    tmp_path: Path,
    env: dict[str, str],
    code: int,
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`luthien control-plane`'s main, in this process (each subprocess costs seconds of imports):
    what it prints to stderr, its log lines included, and the code `python -m luthien_proxy` exits with."""
    from luthien_proxy.cli.main import main

    _as_a_fresh_process(monkeypatch, tmp_path, {**CLEAN_ENV, **env})
    assert main(["control-plane"]) == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert fragment in lines[-1]
    assert "Traceback" not in err


def _as_a_fresh_process(monkeypatch: pytest.MonkeyPatch, cwd: Path, env: dict[str, str]) -> None:
    """A new `luthien` process's env, cwd and stderr logging; a control plane that got past its
    checks fails the test instead of serving forever."""
    import uvicorn

    async def refuse_to_serve(self: uvicorn.Server, *args: object) -> None:
        raise AssertionError("the control plane started serving")

    as_a_fresh_process(monkeypatch, cwd, env)
    monkeypatch.setattr(uvicorn.Server, "serve", refuse_to_serve)


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["up", "--proxy-port", "99999"], "luthien up: error: argument --proxy-port: 99999 is not a port"),
        (["up", "--control-plane-port", "0"], "argument --control-plane-port: 0 is not a port"),
        (["up", "--demo-upstream-port", "x"], "argument --demo-upstream-port: 'x' is not a port"),
        (["control-plane", "--port", "65536"], "luthien control-plane: error: argument --port: 65536"),
    ],
)
def test_a_bad_port_is_one_line_at_parsing(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Refused before anything starts, in one line (not argparse's usage block, not a traceback)."""
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    [line] = capsys.readouterr().err.splitlines()
    assert line.startswith("luthien ") and error in line and "(1-65535)" in line


def test_ports_are_checked_free_and_distinct_before_start() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        held = holder.getsockname()[1]
        with pytest.raises(
            StartupError, match=f"port {held} \\(--proxy-port\\) is in use by another process"
        ):
            require_free_ports("127.0.0.1", {"--control-plane-port": free_port(), "--proxy-port": held})
    port = free_port()
    with pytest.raises(StartupError, match=f"--control-plane-port and --proxy-port are both port {port}"):
        require_free_ports("127.0.0.1", {"--control-plane-port": port, "--proxy-port": port})
    require_free_ports("127.0.0.1", {"--control-plane-port": port, "--proxy-port": free_port()})


def test_migrate_command_reports_what_it_did(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`luthien migrate`'s main twice, in this process (a subprocess costs seconds of imports)."""
    from luthien_proxy.cli.main import main

    _as_a_fresh_process(monkeypatch, tmp_path, CLEAN_ENV)
    assert main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert main(["migrate"]) == 0
    second = capsys.readouterr().out
    assert "applied migrations [1, 2, 3]" in first
    assert "nothing to do" in second
    assert (tmp_path / ".luthien" / "luthien.db").exists()


def _inherit() -> dict[str, str]:
    import os

    return dict(os.environ)


@pytest.mark.parametrize("argv", [["up", "--demo"], ["proxy", "--config", "config/litellm_config.yaml"]])
def test_without_litellm_the_stack_says_which_extra_to_install_in_one_line(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import sys

    from luthien_proxy.cli.main import main

    monkeypatch.chdir(tmp_path)  # nothing written there, no .env read
    monkeypatch.setitem(sys.modules, "litellm", None)  # `import litellm` now fails, as when not installed
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "pip install 'luthien-proxy[proxy]'" in err
    assert list(tmp_path.iterdir()) == []
    import tomllib

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    assert any(dep.startswith("litellm") for dep in pyproject["project"]["optional-dependencies"]["proxy"])
