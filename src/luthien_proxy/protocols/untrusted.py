"""`UntrustedSampler`: draws extra samples from the untrusted model, straight from its upstream.

By default the upstream is the one the request's model is routed to in the host's model routes
(the LiteLLM config at `LUTHIEN_MODEL_CONFIG`, as `luthien up` sets it); `untrusted: {base_url,
api_key, model}` in the policy config overrides it. Samples differ by `seed` (1..k), so
deterministic upstreams such as the demo one give different samples too.
"""

from __future__ import annotations

from luthien_proxy.dialects.openai_chat import encode_request
from luthien_proxy.model import Request
from luthien_proxy.model_routes import ModelRoute
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.config_section import ConfigSection
from luthien_proxy.protocols.judge import ChatResult, ModelCallError, ModelClient
from luthien_proxy.wire import DIALECT_OPENAI_CHAT

_SAMPLE_KEYS = ("messages", "tools", "tool_choice", "temperature", "max_tokens")


class UntrustedSampler(ConfigSection):
    """Samples the request's model (or the configured override) through the host's HTTP client."""

    section = "untrusted"

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        timeout_seconds: float = 30.0,
        retries: int = 0,
        *,
        host: PolicyHost,
    ) -> None:
        if (base_url is None) != (model is None):
            raise ValueError("untrusted needs both base_url and model, or neither (use the request's route)")
        super().__init__(host=host)
        self.override = (
            ModelRoute("override", model, base_url.rstrip("/"), host.resolve(api_key))
            if (base_url and model)
            else None
        )
        self.timeout_seconds = timeout_seconds
        self.retries = retries

    def route_for(self, model: str) -> ModelRoute:
        """Where samples of `model` come from; raises `ModelCallError` when it cannot tell."""
        if self.override is not None:
            return self.override
        routes = self.host.model_routes()
        route = routes.find(DIALECT_OPENAI_CHAT, model)
        if route is None:
            # Through LiteLLM the request may carry the provider-prefixed name.
            bare = model.split("/", 1)[-1]
            route = next((r for r in routes.of(DIALECT_OPENAI_CHAT) if r.upstream_model == bare), None)
        if route is None:
            raise ModelCallError(f"no OpenAI-compatible upstream known for model {model!r}")
        return route

    async def sample(self, request: Request, seed: int) -> ChatResult:
        """One non-streamed sample of the request from the untrusted upstream (it speaks OpenAI chat)."""
        route = self.route_for(request.model)
        client = ModelClient(
            route.base_url,
            route.api_key,
            route.upstream_model,
            timeout_seconds=self.timeout_seconds,
            retries=self.retries,
            host=self.host,
        )
        body = encode_request(request)
        extra = {key: body[key] for key in _SAMPLE_KEYS if key in body and key != "messages"}
        return await client.chat(list(body.get("messages") or []), seed=seed, **extra)
