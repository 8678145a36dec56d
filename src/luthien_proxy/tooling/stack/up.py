"""`run_stack`: what `luthien up` does — check, migrate, start the children, print how to use them,
supervise until Ctrl-C / SIGTERM or until a child dies."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import secrets
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from luthien_proxy.backends.redis_client import RedisClientManager, RedisUnavailable
from luthien_proxy.backends.store import DebugLogStore, StoreUnavailable
from luthien_proxy.control_plane import StartupError
from luthien_proxy.policies import PolicyConfigError, load_policy_set
from luthien_proxy.settings import DEFAULT_DATA_DIR, Settings
from luthien_proxy.tooling.stack.banner import banner
from luthien_proxy.tooling.stack.litellm_config import write_effective_config
from luthien_proxy.tooling.stack.lock import hold_data_dir
from luthien_proxy.tooling.stack.options import StackKeys, StackOptions
from luthien_proxy.tooling.stack.ports import require_free_ports
from luthien_proxy.tooling.stack.state import remove_state, write_state
from luthien_proxy.tooling.stack.supervisor import ChildSpec, Supervisor


def _local(host: str) -> str:
    """The address a local client uses to reach a server bound to `host`."""
    return "127.0.0.1" if host in ("0.0.0.0", "::", "") else host


def is_loopback(host: str) -> bool:
    return host in ("127.0.0.1", "localhost", "::1") or host.startswith("127.")


def stack_keys(environ: dict[str, str], host: str, *, audits: bool = False) -> StackKeys:
    """Keys from the environment; the missing ones generated (the admin key off loopback, where
    anyone on the network could otherwise read every prompt, and when the policy holds calls for a
    person: only the admin key may decide them, not the audited agent's own processes)."""
    master = environ.get("LITELLM_MASTER_KEY") or ""
    admin = environ.get("LUTHIEN_ADMIN_KEY") or ""
    generate_admin = not admin and (audits or not is_loopback(host))
    return StackKeys(
        master_key=master or f"sk-luthien-{secrets.token_urlsafe(24)}",
        master_key_generated=not master,
        proxy_token=environ.get("LUTHIEN_PROXY_TOKEN") or secrets.token_urlsafe(32),
        admin_key=admin or (secrets.token_urlsafe(24) if generate_admin else None),
        admin_key_generated=generate_admin,
    )


@dataclass(frozen=True)
class Checked:
    """What `preflight` found: the settings to start with, and whether the policy audits."""

    settings: Settings
    audits: bool


async def preflight(settings: Settings, options: StackOptions) -> Checked:
    """Everything that can be checked before a process starts, each failure one clear line."""
    if options.policy is not None:
        settings = settings.with_overrides(policy_config=options.policy, policy_config_explicit=True)
    try:
        policy_set = load_policy_set(settings.policy_config, required=settings.policy_config_explicit)
    except PolicyConfigError as exc:
        raise StartupError(str(exc)) from None
    if not options.litellm_config.is_file():
        raise StartupError(f"LiteLLM config {options.litellm_config} does not exist (see --litellm-config)")
    if os.environ.get("LITELLM_DATABASE_URL") and importlib.util.find_spec("prisma") is None:
        raise StartupError(
            "LITELLM_DATABASE_URL is set, but LiteLLM's database needs Prisma and its engine binaries, "
            "which are not installed (they are downloaded at install time); unset LITELLM_DATABASE_URL "
            "or see the README section 'LiteLLM's own database'"
        )
    try:
        store = await DebugLogStore.open(settings.database_url)  # applies migrations
    except StoreUnavailable as exc:
        raise StartupError(str(exc)) from None
    await store.close()
    if settings.redis_url:
        redis = RedisClientManager()
        try:
            await redis.get(settings.redis_url)
        except RedisUnavailable as exc:
            raise StartupError(str(exc)) from None
        finally:
            await redis.close()
    return Checked(settings, any(policy.sends_to_audit() for policy in policy_set.policies()))


def child_specs(
    settings: Settings, options: StackOptions, keys: StackKeys, litellm_config: Path
) -> list[ChildSpec]:
    """The processes of the stack, in start order, with the environment each needs."""
    local = _local(options.host)
    control_plane_url = f"http://{local}:{options.control_plane_port}"
    common: dict[str, str | None] = {
        "LUTHIEN_PROXY_TOKEN": keys.proxy_token,
        "LITELLM_MASTER_KEY": keys.master_key,
        "LUTHIEN_ADMIN_KEY": keys.admin_key,
        "LUTHIEN_MODEL_CONFIG": str(litellm_config),
        "LUTHIEN_DEMO_UPSTREAM_URL": f"http://{local}:{options.demo_upstream_port}/v1",
        # Anthropic base URLs have no /v1: LiteLLM's anthropic/ provider and the native door add /v1/messages.
        "LUTHIEN_DEMO_ANTHROPIC_URL": f"http://{local}:{options.demo_upstream_port}",
        "LUTHIEN_POLICY_CONFIG": str(settings.policy_config.resolve())
        if settings.policy_config_explicit
        else "",
    }
    luthien = [sys.executable, "-m", "luthien_proxy"]

    def server(name: str, port: int, health_url: str) -> ChildSpec:
        command = [*luthien, name, "--host", options.host, "--port", str(port)]
        return ChildSpec(name=name, args=command, env=common, health_url=health_url, port=port)

    specs: list[ChildSpec] = []
    if options.demo:
        port = options.demo_upstream_port
        specs.append(server("demo-upstream", port, f"http://{local}:{port}/health"))
    specs.append(server("control-plane", options.control_plane_port, f"{control_plane_url}/health"))
    specs.append(
        ChildSpec(
            name="litellm-proxy",
            args=[
                *luthien,
                "proxy",
                "--config",
                str(litellm_config),
                "--host",
                options.host,
                "--port",
                str(options.proxy_port),
            ],
            env={
                **common,
                "LUTHIEN_CONTROL_PLANE_URL": control_plane_url,
            },
            health_url=f"http://{local}:{options.proxy_port}/health/liveliness",
            port=options.proxy_port,
            startup_timeout=120.0,
        )
    )
    return specs


def _ports(options: StackOptions) -> dict[str, int]:
    """The port of each server the stack starts, by the flag that sets it."""
    ports = {"--control-plane-port": options.control_plane_port, "--proxy-port": options.proxy_port}
    return {"--demo-upstream-port": options.demo_upstream_port, **ports} if options.demo else ports


async def run_stack(settings: Settings, options: StackOptions) -> int:
    """Start the stack and supervise it; returns the process exit code.

    The ports and the data directory are checked before anything is written, so a stack already
    running there keeps its logs, its config and its answers.
    """
    require_free_ports(options.host, _ports(options))
    lock = hold_data_dir(DEFAULT_DATA_DIR)
    try:
        checked = await preflight(settings, options)
        return await _run(checked.settings, options, audits=checked.audits)
    finally:
        lock.close()


async def _run(settings: Settings, options: StackOptions, *, audits: bool) -> int:
    """Write the runtime config, start the children, print the banner, supervise; no child
    outlives this call."""
    keys = stack_keys(dict(os.environ), options.host, audits=audits)
    log_dir = DEFAULT_DATA_DIR / "logs"
    litellm_config = write_effective_config(options.litellm_config, DEFAULT_DATA_DIR, settings.redis_url)
    supervisor = Supervisor(child_specs(settings, options, keys, litellm_config), log_dir)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    store = "Postgres" if settings.uses_postgres else "SQLite"
    backends = f"{store} + {'Redis' if settings.redis_url else 'in-process events'}"
    print(f"Luthien: starting on {backends}; logs in {log_dir}/", flush=True)
    try:
        if not await supervisor.start(stop):
            return 0
        write_state(DEFAULT_DATA_DIR, stack_state(settings, options, supervisor))
        print(banner(settings, options, keys), flush=True)
        return await supervisor.supervise(stop)
    finally:
        try:
            await supervisor.stop()  # a no-op when they have stopped already
        finally:
            remove_state(DEFAULT_DATA_DIR)


def stack_state(settings: Settings, options: StackOptions, supervisor: Supervisor) -> dict[str, object]:
    """What `luthien status` reads from `.luthien/stack.json`: each child's address, pid and the id
    it echoes in its health answers, and the backends' kinds (no URL, no key)."""
    local = _local(options.host)
    urls = {
        "control-plane": f"http://{local}:{options.control_plane_port}",
        "litellm-proxy": f"http://{local}:{options.proxy_port}/v1",
        "demo-upstream": f"http://{local}:{options.demo_upstream_port}/v1",
    }
    processes = [
        {
            "name": child.spec.name,
            "pid": child.process.pid,
            "url": urls.get(child.spec.name, child.spec.health_url),
            "health_url": child.spec.health_url,
            "instance": child.instance,
        }
        for child in supervisor.children
    ]
    return {
        "store": "postgresql" if settings.uses_postgres else "sqlite",
        "bus": "redis" if settings.redis_url else "memory",
        "processes": processes,
    }
