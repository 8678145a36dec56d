"""`luthien up`: migrations, then the control plane, the LiteLLM proxy and (with --demo) the demo
upstream as supervised child processes."""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
from pathlib import Path
from typing import Any

from luthien_proxy.control_plane import StartupError
from luthien_proxy.settings import Settings
from luthien_proxy.tooling.stack.options import StackOptions
from luthien_proxy.tooling.stack.ports import port_number
from luthien_proxy.tooling.stack.up import run_stack


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "up", help="run the whole stack: control plane, LiteLLM proxy, demo upstream"
    )
    parser.add_argument("--demo", action="store_true", help="also run the demo upstream and its models")
    parser.add_argument("--policy", type=Path, help="policy YAML (default LUTHIEN_POLICY_CONFIG)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address every server binds (default %(default)s)"
    )
    parser.add_argument(
        "--proxy-port", type=port_number, default=4000, help="LiteLLM proxy port (default %(default)s)"
    )
    parser.add_argument(
        "--control-plane-port", type=port_number, help="control plane port (default LUTHIEN_PORT or 8081)"
    )
    parser.add_argument(
        "--demo-upstream-port",
        type=port_number,
        default=8090,
        help="demo upstream port (default %(default)s)",
    )
    parser.add_argument(
        "--litellm-config",
        type=Path,
        help="LiteLLM config (default LUTHIEN_MODEL_CONFIG or config/litellm_config.yaml)",
    )
    parser.set_defaults(handler=run)


#: The one line a stack without LiteLLM stops with (the `proxy` extra of pyproject.toml).
NO_LITELLM = (
    "LiteLLM is not installed; install it with: pip install 'luthien-proxy[proxy]' "
    "(or run the control plane alone: luthien control-plane)"
)


def require_litellm() -> None:
    """Stop with `NO_LITELLM` before anything starts when LiteLLM cannot be imported."""
    try:
        found = importlib.util.find_spec("litellm") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise StartupError(NO_LITELLM)


def run(args: argparse.Namespace, settings: Settings) -> int:
    require_litellm()
    options = StackOptions(
        demo=args.demo,
        policy=args.policy,
        host=args.host,
        proxy_port=args.proxy_port,
        control_plane_port=args.control_plane_port or settings.port,
        demo_upstream_port=args.demo_upstream_port,
        litellm_config=args.litellm_config or settings.model_config,
    )
    return asyncio.run(run_stack(settings, options))
