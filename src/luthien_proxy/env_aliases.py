"""The environment names of the original design, accepted as deprecated aliases of today's.

`Settings.from_env` resolves them before reading anything: an old name alone is used, with a
one-line warning; when both are set the new one wins, and the warning says so. Each name warns once
per process, however often settings are read. The table is listed side by side in
docs/architecture.md ("Environment names of the original design").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

#: Old name -> today's name. Only names whose meaning carried over; the rest are in the docs' table.
ALIASES: dict[str, str] = {
    "CONTROL_PLANE_URL": "LUTHIEN_CONTROL_PLANE_URL",
    "CONTROL_PLANE_HOST": "LUTHIEN_HOST",
    "CONTROL_PLANE_PORT": "LUTHIEN_PORT",
    "CONTROL_PLANE_LOG_LEVEL": "LUTHIEN_LOG_LEVEL",
    "STREAM_CONTEXT_TTL": "LUTHIEN_STREAM_CONTEXT_TTL_SECONDS",
    "CONVERSATION_STREAM_HEARTBEAT_INTERVAL": "LUTHIEN_SSE_HEARTBEAT_SECONDS",
    "LITELLM_CONFIG_PATH": "LUTHIEN_MODEL_CONFIG",
}

logger = logging.getLogger("luthien_proxy.settings")
#: Old names this process has warned about already.
_warned: set[str] = set()


def resolve_aliases(env: Mapping[str, str]) -> dict[str, str]:
    """`env` with each old name's value under today's name (unless that is set); warns once per name."""
    resolved = dict(env)
    for old, new in ALIASES.items():
        if not env.get(old):
            continue
        if env.get(new):
            message = f"{old} is deprecated; use {new} (both are set: {new} wins)"
        else:
            resolved[new] = env[old]
            message = f"{old} is deprecated; use {new}"
        if old not in _warned:
            _warned.add(old)
            logger.warning(message)
    return resolved
