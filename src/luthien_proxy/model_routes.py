"""Model name → upstream, per dialect, read from the LiteLLM-format model config.

OpenAI-compatible upstreams (`openai/...`, `hosted_vllm/...` with an `api_base`) and Anthropic ones
(`anthropic/...`, api.anthropic.com unless `api_base` says otherwise) have a route; anything else
stays with the LiteLLM front door. `os.environ/NAME` values are resolved
the way LiteLLM resolves them (`config_values`), so keys live in the environment, never in the
file. Two readers: the native door (where to forward a call) and the policy host (where a protocol
draws extra samples of the untrusted model); it lives in neither, so neither imports the other.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from luthien_proxy.config_values import resolve_env
from luthien_proxy.wire import DIALECT_ANTHROPIC_MESSAGES, DIALECT_OPENAI_CHAT

#: The model prefixes each native door serves, and the provider's base URL when none is given.
_PREFIXES: dict[str, tuple[tuple[str, str | None], ...]] = {
    DIALECT_OPENAI_CHAT: (("openai/", "https://api.openai.com/v1"), ("hosted_vllm/", None)),
    DIALECT_ANTHROPIC_MESSAGES: (("anthropic/", "https://api.anthropic.com"),),
}
#: A top-level list in the same format as `model_list`, read by the native doors only (LiteLLM
#: ignores it): a model served natively under a name LiteLLM already routes in another dialect.
NATIVE_MODEL_LIST = "luthien_native_model_list"
#: `model_info` flag of an entry whose callers' own key (`x-api-key` / bearer) goes upstream.
FORWARD_CLIENT_KEY = "luthien_forward_client_key"


class ModelConfigError(ValueError):
    """The model config cannot be used; the message says why in one line."""


@dataclass(frozen=True)
class ModelRoute:
    """Where one client-facing model name goes, in which dialect, with which key."""

    model_name: str
    upstream_model: str
    base_url: str
    api_key: str | None = field(repr=False)
    dialect: str = DIALECT_OPENAI_CHAT
    #: Send the caller's own credential upstream instead of `api_key` (never recorded).
    forward_client_key: bool = False

    def for_model(self, model: str) -> ModelRoute:
        """This route for the requested `model`: a wildcard route sends what the client's `*` matched
        in place of its own (`claude-*` → `anthropic/claude-*` sends `claude-sonnet-4-5` unchanged)."""
        if not self.model_name.endswith("*") or "*" not in self.upstream_model:
            return self
        matched = model[len(self.model_name) - 1 :]
        return replace(self, model_name=model, upstream_model=self.upstream_model.replace("*", matched))


@dataclass(frozen=True)
class ModelRoutes:
    """The routes of a model config, per dialect; a name ending in `*` matches by prefix."""

    by_dialect: dict[str, dict[str, ModelRoute]] = field(default_factory=dict[str, dict[str, ModelRoute]])

    def find(self, dialect: str, model: str) -> ModelRoute | None:
        routes = self.by_dialect.get(dialect, {})
        exact = routes.get(model)
        if exact is not None:
            return exact.for_model(model)
        for name, route in routes.items():
            if name.endswith("*") and model.startswith(name[:-1]):
                return route.for_model(model)
        return None

    def names(self, dialect: str) -> list[str]:
        return sorted(self.by_dialect.get(dialect, {}))

    def of(self, dialect: str) -> list[ModelRoute]:
        return list(self.by_dialect.get(dialect, {}).values())


def _route(entry: Any, env: Mapping[str, str]) -> ModelRoute | None:
    params = entry.get("litellm_params") if isinstance(entry, dict) else None
    name = entry.get("model_name") if isinstance(entry, dict) else None
    if not isinstance(params, dict) or not isinstance(name, str):
        return None
    model = str(params.get("model", ""))
    for dialect, prefixes in _PREFIXES.items():
        for prefix, default_base in prefixes:
            if not model.startswith(prefix):
                continue
            base_url = resolve_env(params.get("api_base"), env) or default_base
            if not base_url:
                return None
            info = entry.get("model_info")
            forward = isinstance(info, dict) and info.get(FORWARD_CLIENT_KEY) is True
            api_key = resolve_env(params.get("api_key"), env)
            upstream_model = model.removeprefix(prefix)
            return ModelRoute(
                name, upstream_model, str(base_url).rstrip("/"), api_key or None, dialect, forward
            )
    return None


def routes_from_config(document: Any, environ: Mapping[str, str] | None = None) -> ModelRoutes:
    """The natively served routes of a parsed LiteLLM config (the first entry of a name wins)."""
    env = os.environ if environ is None else environ
    routes = ModelRoutes()
    found = (
        [document.get(key) for key in ("model_list", NATIVE_MODEL_LIST)] if isinstance(document, dict) else []
    )
    entries = [entry for listed in found if isinstance(listed, list) for entry in listed]
    for entry in entries:
        route = _route(entry, env)
        if route is not None:
            routes.by_dialect.setdefault(route.dialect, {}).setdefault(route.model_name, route)
    return routes


def load_model_routes(path: Path, *, required: bool, environ: Mapping[str, str] | None = None) -> ModelRoutes:
    """Routes from the config at `path` (`os.environ/` values looked up in `environ`, the process
    environment by default); a missing optional file means no routes."""
    if not path.is_file():
        if required:
            raise ModelConfigError(f"model config {path} does not exist")
        return ModelRoutes()
    try:
        document = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ModelConfigError(
            f"model config {path} is not valid YAML: {' '.join(str(exc).split())}"
        ) from None
    return routes_from_config(document, environ)
