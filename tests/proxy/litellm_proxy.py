"""The real LiteLLM proxy (our launcher, config and callback) for the callback's end-to-end tests,
policed by the fake control plane; the package's conftest starts one of each per test run."""

from __future__ import annotations

import secrets
import subprocess
from pathlib import Path

from openai import OpenAI

from luthien_proxy.tooling.stack.processes import free_port, start
from tests.proxy.fake_control_plane import TOKEN

REPO = Path(__file__).resolve().parents[2]
#: The shipped config; its demo models find the upstream through LUTHIEN_DEMO_UPSTREAM_URL.
CONFIG = REPO / "config" / "litellm_config.yaml"
MASTER_KEY = "sk-luthien-e2e-" + secrets.token_hex(8)
UPSTREAM_KEY = "demo-not-a-secret"


def start_proxy(
    config: Path, control_plane_url: str, upstream_url: str, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    """Start the LiteLLM door for `control_plane_url`; returns the process and its base URL."""
    port = free_port()
    env = {
        "LUTHIEN_DEMO_UPSTREAM_URL": upstream_url,
        "LUTHIEN_DEMO_ANTHROPIC_URL": upstream_url.removesuffix("/v1"),
        "LITELLM_MASTER_KEY": MASTER_KEY,
        "LUTHIEN_CONTROL_PLANE_URL": control_plane_url,
        "LUTHIEN_PROXY_TOKEN": TOKEN,
        "LUTHIEN_CONTROL_PLANE_TIMEOUT": "5",
        "LUTHIEN_FAIL_MODE": "closed",
    }
    args = [
        "-m",
        "luthien_proxy.doors.litellm.callback.launcher",
        "--config",
        str(config),
        "--port",
        str(port),
    ]
    proc = start(args, f"http://127.0.0.1:{port}/health/liveliness", env=env, log_path=log, timeout_s=120)
    return proc, f"http://127.0.0.1:{port}"


def openai_client(url: str) -> OpenAI:
    return OpenAI(base_url=url + "/v1", api_key=MASTER_KEY, max_retries=0, timeout=30)
