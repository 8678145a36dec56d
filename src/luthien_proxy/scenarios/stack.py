"""Runs `luthien up --demo` with a given policy on free loopback ports, for the scenario suite."""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from openai import OpenAI

from luthien_proxy.stack.processes import free_port

READY_LINE = "Press Ctrl-C to stop."
START_TIMEOUT_SECONDS = 120.0


@dataclass(frozen=True)
class Stack:
    """A running stack: both front doors, the control plane API and the demo upstream."""

    proxy_url: str
    control_plane_url: str
    upstream_url: str
    api_key: str
    log_path: Path

    def door_url(self, door: str) -> str:
        """The OpenAI base URL of the `litellm` or `native` front door."""
        return f"{self.proxy_url}/v1" if door == "litellm" else f"{self.control_plane_url}/v1"

    def client(self, door: str) -> OpenAI:
        return OpenAI(base_url=self.door_url(door), api_key=self.api_key, max_retries=0, timeout=30)

    def control_plane(self) -> httpx.Client:
        return httpx.Client(base_url=self.control_plane_url, timeout=10)


def _log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def luthien_up(
    policy: Path, workdir: Path, litellm_config: Path, env: Mapping[str, str] | None = None
) -> Iterator[Stack]:
    """Start the stack (its SQLite file and logs land in `workdir`); stop it when the block ends."""
    workdir.mkdir(parents=True, exist_ok=True)
    proxy, control_plane, upstream = free_port(), free_port(), free_port()
    key = f"sk-scenario-{secrets.token_hex(12)}"
    args = [
        sys.executable,
        "-m",
        "luthien_proxy",
        "up",
        "--demo",
        "--proxy-port",
        str(proxy),
        "--control-plane-port",
        str(control_plane),
        "--demo-upstream-port",
        str(upstream),
        "--litellm-config",
        str(litellm_config),
        "--policy",
        str(policy),
    ]
    child_env = {
        **os.environ,
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "LUTHIEN_POLICY_CONFIG": "",
        "LUTHIEN_PROXY_TOKEN": "",
        "LITELLM_MASTER_KEY": key,
        **(env or {}),
    }
    log_path = workdir / "up.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(args, env=child_env, cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_TIMEOUT_SECONDS
            while READY_LINE not in _log_text(log_path):
                if process.poll() is not None:
                    raise RuntimeError(f"luthien up exited with {process.returncode}:\n{_log_text(log_path)}")
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"luthien up not ready in {START_TIMEOUT_SECONDS}s:\n{_log_text(log_path)}"
                    )
                time.sleep(0.05)
            yield Stack(
                proxy_url=f"http://127.0.0.1:{proxy}",
                control_plane_url=f"http://127.0.0.1:{control_plane}",
                upstream_url=f"http://127.0.0.1:{upstream}/v1",
                api_key=key,
                log_path=log_path,
            )
        finally:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
