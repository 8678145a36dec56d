"""A complete response between LiteLLM's objects and the JSON the control plane sees: what is sent
(without LiteLLM's bookkeeping) and what the callback hands back when the policy changed it."""

from __future__ import annotations

from typing import Any

from litellm.types.llms.openai import ResponsesAPIResponse
from pydantic import BaseModel

from luthien_proxy.doors.litellm.callback.sanitize import model_json

#: LiteLLM's bookkeeping on a dict response (an Anthropic Message): headers, model id, cost. Not
#: the model's answer, so never sent; put back on a response the policy replaced.
_HIDDEN_PARAMS = "_hidden_params"


def response_json(response: Any) -> Any:
    """The response as the control plane gets it: its JSON, without LiteLLM's hidden params."""
    if isinstance(response, dict) and _HIDDEN_PARAMS in response:
        response = {k: v for k, v in response.items() if k != _HIDDEN_PARAMS}
    return model_json(response)


def rebuild_response(original: Any, new: Any) -> Any:
    """A response object of the original's type built from the policy's dict, keeping LiteLLM's
    hidden params (a dict's key, a Responses object's private attribute), which it reads for the
    response headers."""
    if isinstance(original, ResponsesAPIResponse) and isinstance(new, dict):
        rebuilt = ResponsesAPIResponse(**new)
        rebuilt.hidden_params = original.hidden_params
        return rebuilt
    if isinstance(original, BaseModel) and isinstance(new, dict):
        return type(original)(**new)
    if isinstance(original, dict) and isinstance(new, dict) and _HIDDEN_PARAMS in original:
        return {**new, _HIDDEN_PARAMS: original[_HIDDEN_PARAMS]}
    return new
