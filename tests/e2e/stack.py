"""`luthien up --demo` as a user runs it, on free ports, for end-to-end tests."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx
from openai import AsyncOpenAI, OpenAI

from tests.support.processes import ManagedProcess, free_port, luthien

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RunningStack:
    process: ManagedProcess
    proxy_url: str
    control_plane_url: str
    demo_upstream_url: str
    api_key: str

    def client(self) -> OpenAI:
        return OpenAI(base_url=f"{self.proxy_url}/v1", api_key=self.api_key, max_retries=0, timeout=30)

    def async_client(self) -> AsyncOpenAI:
        return AsyncOpenAI(base_url=f"{self.proxy_url}/v1", api_key=self.api_key, max_retries=0, timeout=30)

    def control_plane(self) -> httpx.Client:
        return httpx.Client(base_url=self.control_plane_url, timeout=10)


@contextlib.contextmanager
def luthien_up(
    workdir: Path, policy: str | None = None, env: Mapping[str, str] | None = None
) -> Iterator[RunningStack]:
    """Run `luthien up --demo` in `workdir` (its SQLite file and logs land there) until the block ends."""
    proxy, control_plane, upstream = free_port(), free_port(), free_port()
    key = f"sk-e2e-{secrets.token_hex(12)}"
    args = [
        "up",
        "--demo",
        "--proxy-port",
        str(proxy),
        "--control-plane-port",
        str(control_plane),
        "--demo-upstream-port",
        str(upstream),
        "--litellm-config",
        str(REPO / "config" / "litellm_config.yaml"),
    ]
    if policy:
        args += ["--policy", str(REPO / "config" / policy)]
    child_env = {
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "LUTHIEN_POLICY_CONFIG": "",
        "LUTHIEN_PROXY_TOKEN": "",
        "LITELLM_MASTER_KEY": key,
        **(env or {}),
    }
    with ManagedProcess(luthien(*args), env=child_env, cwd=workdir, log=workdir / "up.log") as process:
        process.wait_for_output("Press Ctrl-C to stop.", timeout=120)
        yield RunningStack(
            process=process,
            proxy_url=f"http://127.0.0.1:{proxy}",
            control_plane_url=f"http://127.0.0.1:{control_plane}",
            demo_upstream_url=f"http://127.0.0.1:{upstream}/v1",
            api_key=child_env["LITELLM_MASTER_KEY"] or key,
        )
