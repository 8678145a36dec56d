"""What LiteLLM hands the callback's hooks: a request `data` dict (secrets included) and a response."""

from __future__ import annotations

from typing import Any

from litellm.types.utils import ModelResponse


def hook_data(prompt: str, call_id: str = "call-123") -> dict[str, Any]:
    """A request as LiteLLM passes it, with the secrets the callback must never send on."""
    return {
        "model": "demo-echo",
        "messages": [{"role": "user", "content": prompt}],
        "secret_fields": {"raw_headers": {"authorization": "Bearer sk-master-secret"}},
        "litellm_call_id": call_id,
        "litellm_trace_id": "trace-9",
        "deployment": {"litellm_params": {"api_key": "sk-upstream-secret"}},
    }


def model_response(text: str) -> ModelResponse:
    return ModelResponse(
        id="r1",
        model="demo-echo",
        choices=[{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
    )
