"""Which wire dialect a LiteLLM call speaks, from the call type LiteLLM gives (or leaves on) its hooks.

Only the pre-call and moderation hooks are told the call type; the success and stream hooks find
it on the call's logging object, and the failure hook (whose `call_type` key LiteLLM guesses from
the body's shape, `acompletion` for any `messages` list, and which often has no logging object)
by the route the request came in on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from litellm.types.utils import CallTypes

from luthien_proxy.wire import (
    DIALECT_ANTHROPIC_MESSAGES,
    DIALECT_KEY,
    DIALECT_OPENAI_CHAT,
    DIALECT_OPENAI_RESPONSES,
)

#: The call types of the policed routes, and the dialect each speaks.
CALL_DIALECTS: dict[str, str] = {
    CallTypes.acompletion.value: DIALECT_OPENAI_CHAT,
    CallTypes.completion.value: DIALECT_OPENAI_CHAT,
    CallTypes.anthropic_messages.value: DIALECT_ANTHROPIC_MESSAGES,
    CallTypes.aresponses.value: DIALECT_OPENAI_RESPONSES,
    CallTypes.responses.value: DIALECT_OPENAI_RESPONSES,
}
#: The paths of LiteLLM's Anthropic Messages route (`anthropic_endpoints/endpoints.py`) and of its
#: Responses create route (`response_api_endpoints/endpoints.py`: `/v1/responses`, `/responses`,
#: `/openai/v1/responses`), the ends a failed call's URL is read by.
ROUTE_DIALECTS = (("/v1/messages", DIALECT_ANTHROPIC_MESSAGES), ("/responses", DIALECT_OPENAI_RESPONSES))


def call_type_name(call_type: Any) -> str:
    """A call type as LiteLLM spells it (it passes a `CallTypes` member or its value)."""
    return str(getattr(call_type, "value", call_type))


def dialect_of(data: Mapping[str, Any], call_type: Any = None) -> str:
    """The dialect of the call `data` belongs to; OpenAI chat unless it is an Anthropic Messages or a
    Responses call."""
    name = call_type_name(call_type) if call_type is not None else None
    if name is None:
        logged = getattr(data.get("litellm_logging_obj"), "call_type", None)
        name = call_type_name(logged) if logged is not None else None
    if name is None:
        request = data.get("proxy_server_request")
        url = request.get("url") if isinstance(request, Mapping) else None
        path = urlsplit(url).path if isinstance(url, str) else ""
        return next((dialect for end, dialect in ROUTE_DIALECTS if path.endswith(end)), DIALECT_OPENAI_CHAT)
    return CALL_DIALECTS.get(name, DIALECT_OPENAI_CHAT)


def dialect_field(dialect: str) -> dict[str, str]:
    """The payload field naming `dialect`; none for OpenAI chat, which a payload without it means."""
    return {} if dialect == DIALECT_OPENAI_CHAT else {DIALECT_KEY: dialect}
