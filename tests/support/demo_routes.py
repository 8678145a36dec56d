"""Model routes to a demo upstream served in the test, for tests that call through the native door."""

from __future__ import annotations

from luthien_proxy.model_routes import ModelRoutes, routes_from_config


def demo_routes(upstream: str, model: str = "demo-agent") -> ModelRoutes:
    """`model` routed to the demo upstream at `upstream` (host:port) in both dialects: Anthropic
    Messages (`/v1/messages`) and OpenAI chat (`/v1/chat/completions`), so a test can call it
    through either door."""
    entries = [
        {
            "model_name": model,
            "litellm_params": {"model": f"anthropic/{model}", "api_base": f"http://{upstream}"},
        },
        {
            "model_name": model,
            "litellm_params": {"model": f"openai/{model}", "api_base": f"http://{upstream}/v1"},
        },
    ]
    return routes_from_config({"model_list": entries})
