"""Model name → OpenAI-compatible upstream, read from the LiteLLM-format model config.

Only OpenAI-compatible upstreams (`openai/...`, `hosted_vllm/...` models with an `api_base`) have
a route; anything else stays with the LiteLLM front door. `os.environ/NAME` values are resolved
the way LiteLLM resolves them (`config_values`), so keys live in the environment, never in the
file. Two readers: the native door (where to forward a call) and the policy host (where a protocol
draws extra samples of the untrusted model); it lives in neither, so neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from luthien_proxy.config_values import resolve_env

_COMPATIBLE_PREFIXES = ("openai/", "hosted_vllm/")
DEFAULT_OPENAI_BASE = "https://api.openai.com/v1"


class ModelConfigError(ValueError):
    """The model config cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class ModelRoute:
    """Where one client-facing model name goes."""

    model_name: str
    upstream_model: str
    base_url: str
    api_key: str | None = field(repr=False)


def routes_from_config(document: Any, environ: Mapping[str, str] | None = None) -> dict[str, ModelRoute]:
    """The OpenAI-compatible routes in a parsed LiteLLM config (the first entry of a name wins)."""
    env = os.environ if environ is None else environ
    routes: dict[str, ModelRoute] = {}
    entries = document.get("model_list") if isinstance(document, dict) else None
    for entry in entries or ():
        params = entry.get("litellm_params") if isinstance(entry, dict) else None
        name = entry.get("model_name") if isinstance(entry, dict) else None
        if not isinstance(params, dict) or not isinstance(name, str):
            continue
        model = str(params.get("model", ""))
        prefix = next((p for p in _COMPATIBLE_PREFIXES if model.startswith(p)), None)
        if prefix is None:
            continue
        base_url = resolve_env(params.get("api_base"), env) or (
            DEFAULT_OPENAI_BASE if prefix == "openai/" else None
        )
        if not base_url:
            continue
        api_key = resolve_env(params.get("api_key"), env)
        routes.setdefault(
            name, ModelRoute(name, model.removeprefix(prefix), str(base_url).rstrip("/"), api_key or None)
        )
    return routes


def load_model_routes(
    path: Path, *, required: bool, environ: Mapping[str, str] | None = None
) -> dict[str, ModelRoute]:
    """Routes from the config at `path` (`os.environ/` values looked up in `environ`, the process
    environment by default); a missing optional file means no routes."""
    if not path.is_file():
        if required:
            raise ModelConfigError(f"model config {path} does not exist")
        return {}
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ModelConfigError(
            f"model config {path} is not valid YAML: {' '.join(str(exc).split())}"
        ) from None
    return routes_from_config(document, environ)
