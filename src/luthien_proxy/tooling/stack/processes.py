"""Start a server as a child process and wait until it answers: used by tests and benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

import luthien_proxy


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment plus a PYTHONPATH that finds this luthien_proxy (installed or not)."""
    env = dict(os.environ)
    src = str(Path(luthien_proxy.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    env.update(extra or {})
    return env


def wait_until_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    """Poll `url` until it answers 200; fail fast if the process exits first."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} was healthy")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not healthy after {timeout_s}s")


def start(
    args: Sequence[str],
    health_url: str,
    *,
    env: Mapping[str, str] | None = None,
    log_path: Path | None = None,
    timeout_s: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start `python <args>` and return once `health_url` answers 200."""
    cmd = [sys.executable, *args]
    if log_path is None:
        proc = subprocess.Popen(cmd, env=child_env(env), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    else:
        with log_path.open("wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(cmd, env=child_env(env), stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until_healthy(health_url, proc, timeout_s)
    except BaseException:
        stop(proc)
        raise
    return proc


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 10.0, sig: int = signal.SIGTERM) -> int:
    """Signal `proc` (SIGTERM by default), kill it if it does not exit in time; its exit code."""
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def start_demo_upstream(port: int | None = None, *extra_args: str) -> tuple[subprocess.Popen[bytes], str]:
    """Start `python -m luthien_proxy.tooling.demo_upstream`; returns the process and its `/v1` base URL."""
    port = port or free_port()
    proc = start(
        ["-m", "luthien_proxy.tooling.demo_upstream", "--port", str(port), *extra_args],
        f"http://127.0.0.1:{port}/health",
    )
    return proc, f"http://127.0.0.1:{port}/v1"
