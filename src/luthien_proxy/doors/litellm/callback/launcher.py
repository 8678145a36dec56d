"""Runs the LiteLLM proxy in-process, offline, behind the missing-credentials guard.

Equivalent to `litellm --config X --host H --port P` (which saves the config path for the app's
startup event and runs `litellm.proxy.proxy_server:app` under uvicorn with uvloop), plus the 401 fix.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import MutableMapping, Sequence

import uvicorn

# Set before litellm is imported: it reads the cost-map switch at import time.
OFFLINE_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "DISABLE_ADMIN_UI": "True",
}


def apply_offline_env(env: MutableMapping[str, str] | None = None) -> None:
    """Default every LiteLLM 'fetch remote data' switch to local, without overriding explicit settings."""
    target = os.environ if env is None else env
    for key, value in OFFLINE_ENV.items():
        target.setdefault(key, value)


def use_litellm_database_env(env: MutableMapping[str, str] | None = None) -> None:
    """Give LiteLLM its own database, or none.

    LiteLLM reads DATABASE_URL as its Prisma database, but in Luthien's environment DATABASE_URL is
    the control plane's; LiteLLM's is LITELLM_DATABASE_URL (and without it LiteLLM runs database-free).
    """
    target = os.environ if env is None else env
    litellm_database = target.get("LITELLM_DATABASE_URL")
    if litellm_database:
        target["DATABASE_URL"] = litellm_database
    else:
        target.pop("DATABASE_URL", None)


def build_parser(parser: argparse.ArgumentParser | None = None) -> argparse.ArgumentParser:
    """Add the proxy options to `parser` (or a new one) so the main CLI can reuse them."""
    p = parser or argparse.ArgumentParser(prog="luthien proxy", description=__doc__)
    p.add_argument("--config", required=True, help="LiteLLM config YAML")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: %(default)s)")
    p.add_argument("--port", type=int, default=4000, help="bind port (default: %(default)s)")
    p.add_argument("--log-level", default="info", help="uvicorn log level (default: %(default)s)")
    return p


def run(config: str, host: str = "127.0.0.1", port: int = 4000, log_level: str = "info") -> None:
    """Serve the LiteLLM proxy with `config` until interrupted."""
    apply_offline_env()
    use_litellm_database_env()
    os.environ["CONFIG_FILE_PATH"] = os.path.abspath(config)
    from litellm.proxy.proxy_server import app  # heavy import, after the env is set

    from luthien_proxy.doors.litellm.callback import auth_errors
    from luthien_proxy.doors.litellm.callback.auth_guard import MissingCredentialsGuard
    from luthien_proxy.doors.litellm.callback.route_gate import RouteGate, load_policed_features
    from luthien_proxy.instance_id import with_instance_header

    auth_errors.install()
    load_policed_features(app)
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "auto"
    uvicorn.run(
        # Under `luthien up`, the liveliness answer proves it comes from this process.
        with_instance_header(RouteGate(MissingCredentialsGuard(app), app), "/health/liveliness"),
        host=host,
        port=port,
        log_level=log_level,
        loop=loop,
        server_header=False,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Parse `argv` and run the proxy; returns a process exit code."""
    args = build_parser().parse_args(argv)
    run(args.config, args.host, args.port, args.log_level)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
