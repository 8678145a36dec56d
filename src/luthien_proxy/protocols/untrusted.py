"""`UntrustedSampler`: draws extra samples from the untrusted model, straight from its upstream.

By default the upstream is the one the request's model is routed to in the LiteLLM config
(`LUTHIEN_MODEL_CONFIG`, as `luthien up` sets it); `untrusted: {base_url, api_key, model}` in
the policy config overrides it. Samples differ by `seed` (1..k), so deterministic upstreams such as
the demo one give different samples too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from luthien_proxy.native.model_map import ModelRoute, load_model_routes
from luthien_proxy.protocols.config_section import ConfigSection
from luthien_proxy.protocols.judge import ChatResult, ModelCallError, ModelClient, resolve_env
from luthien_proxy.settings import DEFAULT_MODEL_CONFIG

_SAMPLE_KEYS = ("messages", "tools", "tool_choice", "temperature", "max_tokens")


class UntrustedSampler(ConfigSection):
    """One persistent client per upstream model, created when first needed."""

    section = "untrusted"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout_seconds: float = 30.0,
        retries: int = 0,
    ) -> None:
        if (base_url is None) != (model is None):
            raise ValueError("untrusted needs both base_url and model, or neither (use the request's route)")
        self.override = (
            ModelRoute("override", model, base_url.rstrip("/"), resolve_env(api_key))
            if (base_url and model)
            else None
        )
        self.timeout_seconds = timeout_seconds
        self.retries = retries
        self._routes: dict[str, ModelRoute] | None = None
        self._clients: dict[tuple[str, str], ModelClient] = {}

    def route_for(self, model: str) -> ModelRoute:
        """Where samples of `model` come from; raises `ModelCallError` when it cannot tell."""
        if self.override is not None:
            return self.override
        if self._routes is None:
            path = Path(os.environ.get("LUTHIEN_MODEL_CONFIG") or DEFAULT_MODEL_CONFIG)
            self._routes = load_model_routes(path, required=False)
        route = self._routes.get(model)
        if route is None:
            # Through LiteLLM the request may carry the provider-prefixed name.
            bare = model.split("/", 1)[-1]
            route = next((r for r in self._routes.values() if r.upstream_model == bare), None)
        if route is None:
            raise ModelCallError(f"no OpenAI-compatible upstream known for model {model!r}")
        return route

    def _client(self, route: ModelRoute) -> ModelClient:
        key = (route.base_url, route.upstream_model)
        if key not in self._clients:
            self._clients[key] = ModelClient(
                route.base_url,
                route.api_key,
                route.upstream_model,
                timeout_seconds=self.timeout_seconds,
                retries=self.retries,
            )
        return self._clients[key]

    async def aclose(self) -> None:
        for client in self._clients.values():
            await client.aclose()

    async def sample(self, request: dict[str, Any], seed: int) -> ChatResult:
        """One non-streamed sample of the request from the untrusted upstream."""
        route = self.route_for(str(request.get("model") or ""))
        extra = {key: request[key] for key in _SAMPLE_KEYS if key in request and key != "messages"}
        return await self._client(route).chat(list(request.get("messages") or []), seed=seed, **extra)
