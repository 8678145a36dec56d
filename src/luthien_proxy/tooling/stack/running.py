"""`luthien_up`: the whole demo stack in a child process on free loopback ports, as a user runs it.

Used by the scenario suite, the soak run and the end-to-end tests, so all three exercise exactly
what `luthien up --demo` starts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from openai import AsyncOpenAI, OpenAI

from luthien_proxy.tooling.stack.processes import free_port, stop

READY_LINE = "Press Ctrl-C to stop."
DEFAULT_LITELLM_CONFIG = Path("config/litellm_config.yaml")


class StackStartError(RuntimeError):
    """`luthien up` exited or was not ready in time; the message carries its output."""


START_TIMEOUT_SECONDS = 120.0


@dataclass
class Stack:
    """A running stack: both front doors, the control plane API and the demo upstream."""

    proxy_url: str
    control_plane_url: str
    upstream_url: str
    api_key: str
    log_path: Path
    process: subprocess.Popen[bytes]

    def door_url(self, door: str = "litellm") -> str:
        """The OpenAI base URL of the `litellm` or `native` front door."""
        return f"{self.proxy_url}/v1" if door == "litellm" else f"{self.control_plane_url}/v1"

    def client(self, door: str = "litellm") -> OpenAI:
        return OpenAI(base_url=self.door_url(door), api_key=self.api_key, max_retries=0, timeout=30)

    def async_client(self, door: str = "litellm") -> AsyncOpenAI:
        return AsyncOpenAI(base_url=self.door_url(door), api_key=self.api_key, max_retries=0, timeout=30)

    def control_plane(self) -> httpx.Client:
        return httpx.Client(base_url=self.control_plane_url, timeout=10)

    def output(self) -> str:
        """Everything `luthien up` has printed so far."""
        return _log_text(self.log_path)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Signal `luthien up` and wait for it (killing it after `timeout`); returns its exit code."""
        return stop(self.process, timeout, sig)


def _log_text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@contextlib.contextmanager
def luthien_up(
    workdir: Path,
    policy: Path | None = None,
    litellm_config: Path = DEFAULT_LITELLM_CONFIG,
    env: Mapping[str, str] | None = None,
) -> Iterator[Stack]:
    """Start the stack (its SQLite file and logs land in `workdir`); stop it when the block ends.

    The child gets a clean slate (embedded backends, the default policy) unless `env` says otherwise.
    """
    workdir.mkdir(parents=True, exist_ok=True)
    proxy, control_plane, upstream = free_port(), free_port(), free_port()
    key = f"sk-stack-{secrets.token_hex(12)}"
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
        str(litellm_config.resolve()),
        *(["--policy", str(policy.resolve())] if policy else []),
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
                    raise StackStartError(
                        f"luthien up exited with {process.returncode}:\n{_log_text(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise StackStartError(
                        f"luthien up not ready in {START_TIMEOUT_SECONDS}s:\n{_log_text(log_path)}"
                    )
                time.sleep(0.05)
            yield Stack(
                proxy_url=f"http://127.0.0.1:{proxy}",
                control_plane_url=f"http://127.0.0.1:{control_plane}",
                upstream_url=f"http://127.0.0.1:{upstream}/v1",
                api_key=child_env["LITELLM_MASTER_KEY"] or key,
                log_path=log_path,
                process=process,
            )
        finally:
            stop(process, 30)
