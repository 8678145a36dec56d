"""LiteLLM callback that sends every hook to the Luthien control plane and applies the policy's answer.

Three dialects are policed: OpenAI chat (`/v1/chat/completions`), Anthropic Messages
(`/v1/messages`, whose stream is SSE bytes, decoded into event objects for the control plane and
written back as SSE frames) and the OpenAI Responses API (`/v1/responses`, whose stream is typed
event objects, sent as the JSON a client reads and written back as LiteLLM's own objects). The last
two name their dialect in every payload. Named in the LiteLLM config as
`litellm_settings: callbacks: luthien_proxy.doors.litellm.callback.litellm_callback.luthien_callback`.
LiteLLM only calls a hook that is defined on the registered object's own class (it checks the class
`__dict__`), so a subclass must re-define every hook it wants called, not just inherit it.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from fastapi import HTTPException
from litellm.integrations.custom_logger import CustomLogger
from litellm.types.utils import ModelResponseStream

from luthien_proxy.doors.litellm.callback.anthropic_sse import SSEDecoder, encode_event, sse_events
from luthien_proxy.doors.litellm.callback.call_dialect import (
    CALL_DIALECTS,
    call_type_name,
    dialect_field,
    dialect_of,
)
from luthien_proxy.doors.litellm.callback.callback_config import CallbackConfig
from luthien_proxy.doors.litellm.callback.control_plane_client import ControlPlaneClient
from luthien_proxy.doors.litellm.callback.errors import ControlPlaneError, PolicyRejected, blocked_reason
from luthien_proxy.doors.litellm.callback.policy_link import EventDecoder as StreamDecoder
from luthien_proxy.doors.litellm.callback.policy_link import PolicyLink
from luthien_proxy.doors.litellm.callback.response_objects import rebuild_response, response_json
from luthien_proxy.doors.litellm.callback.responses_stream import (
    EventDecoder,
    response_events,
    written_events,
)
from luthien_proxy.doors.litellm.callback.sanitize import (
    call_ids,
    merge_request,
    request_payload,
    user_key_payload,
)
from luthien_proxy.doors.litellm.callback.stream_bridge import StreamBridge
from luthien_proxy.wire import (
    CALL_ID_KEY,
    DIALECT_ANTHROPIC_MESSAGES,
    DIALECT_KEY,
    DIALECT_OPENAI_RESPONSES,
    FAILURE_HOOK,
    MODERATION_HOOK,
    PRE_CALL_HOOK,
    STREAM_HOOK,
    SUCCESS_HOOK,
)

log = logging.getLogger(__name__)
#: What a chat or Responses client gets for the control plane's KEEPALIVE: an SSE comment, which
#: LiteLLM writes as it comes and every SSE reader skips. (Messages clients get Anthropic's `ping`.)
_SSE_KEEPALIVE = b": keepalive\n\n"
_PING_EVENT = {"type": "ping"}
#: The hooks after which LiteLLM is done with a call (a stream ends in the iterator hook).
_CALL_ENDS = frozenset({SUCCESS_HOOK, FAILURE_HOOK})


def _build_chunk(data: dict[str, Any]) -> ModelResponseStream:
    return ModelResponseStream(**data)


def _event(data: dict[str, Any]) -> dict[str, Any]:
    return data  # an event stays an object until the dialect's writer turns it into what LiteLLM sends


def _require_policed(call_type: Any) -> str:
    """The dialect of a policed call; refuse any other (behind `RouteGate`, in case a route slips past it)."""
    name = call_type_name(call_type)
    dialect = CALL_DIALECTS.get(name)
    if dialect is None:
        raise HTTPException(
            403,
            detail=f"Luthien refuses {name!r} calls: only the OpenAI chat (POST /v1/chat/completions), "
            "Anthropic Messages (POST /v1/messages) and OpenAI Responses (POST /v1/responses) dialects "
            "are policed; see docs/litellm.md#routes",
        )
    return dialect


class LuthienCallback(CustomLogger):
    """Forwards pre-call, moderation, success, failure and streaming hooks to the control plane:
    asked (and answered) when the policy implements the hook, reported over the link otherwise."""

    def __init__(self, config: CallbackConfig | None = None) -> None:
        super().__init__()
        self.config = config or CallbackConfig.from_env()
        self.client = ControlPlaneClient(self.config)
        self.link = PolicyLink(self.config) if self.config.fast_path else None

    def _reported(self, hook: str, body: dict[str, Any]) -> bool:
        """Report `hook` over the link when the call's policy leaves it alone; False: ask the
        control plane. Either way the body names the policy version the choice was made under."""
        if self.link is None:
            return False
        call_id = body.get(CALL_ID_KEY)
        body.update(self.link.stamp(call_id))
        reported = self.link.may_report(hook, call_id)
        if hook in _CALL_ENDS:
            self.link.forget(call_id)
        if reported:
            self.link.report_hook(hook, body)
        return reported

    async def _decide(self, hook: str, body: dict[str, Any]) -> dict[str, Any] | None:
        """Run a hook remotely; None means 'no decision, carry on unchanged' (fail-open only)."""
        try:
            return await self.client.call_hook(hook, body)
        except PolicyRejected as exc:
            raise HTTPException(exc.status_code, detail=exc.message) from None
        except ControlPlaneError as exc:
            if self.config.fail_open and exc.unreachable:
                log.warning("%s; continuing unpoliced (LUTHIEN_FAIL_MODE=open)", exc.message)
                return None
            reason = blocked_reason(self.config.fail_open)
            raise HTTPException(
                exc.status_code, detail=f"{exc.message}; request blocked ({reason})"
            ) from None

    async def async_pre_call_hook(
        self, user_api_key_dict: Any, cache: Any, data: dict, call_type: Any
    ) -> Any:
        """Let the policy edit or reject the request before it reaches the model."""
        dialect = _require_policed(call_type)
        sent = request_payload(data)
        body = {
            **call_ids(data, user_api_key_dict),
            **dialect_field(dialect),
            "data": sent,
            "call_type": str(call_type),
            "user_api_key_dict": user_key_payload(user_api_key_dict),
        }
        if self._reported(PRE_CALL_HOOK, body):
            return data
        result = await self._decide(PRE_CALL_HOOK, body)
        if result is None or "data" not in result:
            return data
        return merge_request(data, sent, result["data"])

    async def async_moderation_hook(self, data: dict, user_api_key_dict: Any, call_type: Any) -> Any:
        """Let the policy reject the request while the model call runs in parallel."""
        body = {
            **call_ids(data, user_api_key_dict),
            **dialect_field(dialect_of(data, call_type)),
            "data": request_payload(data),
            "call_type": str(call_type),
            "user_api_key_dict": user_key_payload(user_api_key_dict),
        }
        if not self._reported(MODERATION_HOOK, body):
            await self._decide(MODERATION_HOOK, body)

    async def async_post_call_success_hook(self, data: dict, user_api_key_dict: Any, response: Any) -> Any:
        """Let the policy edit or reject a complete (non-streamed) response."""
        sent_response = response_json(response)
        body = {
            **call_ids(data, user_api_key_dict),
            **dialect_field(dialect_of(data)),
            "data": request_payload(data),
            "user_api_key_dict": user_key_payload(user_api_key_dict),
            "response": sent_response,
        }
        if self._reported(SUCCESS_HOOK, body):
            return None
        result = await self._decide(SUCCESS_HOOK, body)
        if result is None or "response" not in result or result["response"] == sent_response:
            return None
        return rebuild_response(response, result["response"])

    async def async_post_call_failure_hook(
        self,
        request_data: dict,
        original_exception: Exception,
        user_api_key_dict: Any,
        traceback_str: str | None = None,
    ) -> Any:
        """Report a failed call; never changes the error the client gets."""
        body = {
            **call_ids(request_data, user_api_key_dict),
            **dialect_field(dialect_of(request_data)),
            "request_data": request_payload(request_data),
            "original_exception": str(original_exception),
            "exception_type": type(original_exception).__name__,
            "user_api_key_dict": user_key_payload(user_api_key_dict),
        }
        if self._reported(FAILURE_HOOK, body):
            return None
        try:
            await self.client.call_hook(FAILURE_HOOK, body)
        except (ControlPlaneError, PolicyRejected) as exc:
            log.warning("failure hook not recorded: %s", exc.message)
        return None

    async def async_post_call_streaming_iterator_hook(
        self, user_api_key_dict: Any, response: Any, request_data: dict
    ) -> AsyncGenerator[Any, None]:
        """Police a stream chunk by chunk over the control plane's WebSocket (Anthropic Messages
        streams are SSE bytes, Responses streams typed events)."""
        # The stream's request carries the ids scoped to the caller's key, like every hook's body.
        ids = call_ids(request_data, user_api_key_dict)
        known = ids[CALL_ID_KEY]
        request = {**request_payload(request_data), **ids, **(self.link.stamp(known) if self.link else {})}
        relayed = self.link is not None and self.link.may_report(STREAM_HOOK, known)
        call_id = known or "unknown"
        dialect = dialect_of(request_data)
        try:
            if dialect == DIALECT_ANTHROPIC_MESSAGES:
                stream = self._messages_stream(call_id, request, response, relayed)
            elif dialect == DIALECT_OPENAI_RESPONSES:
                stream = self._responses_stream(call_id, request, response, relayed)
            else:
                stream = self._chat_stream(call_id, request, response, relayed)
            async for item in stream:
                yield item
        finally:
            if self.link is not None:
                self.link.forget(known)

    async def _chat_stream(
        self, call_id: str, request: dict[str, Any], response: Any, relayed: bool
    ) -> AsyncIterator[Any]:
        """An OpenAI chat stream: LiteLLM's chunk objects, relayed when the policy leaves them alone."""
        if relayed and self.link is not None:
            async for chunk in self.link.relay_stream(call_id, request, response):
                yield chunk
            return
        bridge = StreamBridge(self.config, call_id, request, _build_chunk, keepalive=_SSE_KEEPALIVE)
        async for chunk in bridge.run(response):
            yield chunk

    async def _messages_stream(
        self, call_id: str, request: dict[str, Any], response: Any, relayed: bool
    ) -> AsyncIterator[bytes]:
        """An Anthropic Messages stream: LiteLLM's SSE (transport reads) as event objects to the
        policy, its events back as SSE frames; relayed byte for byte when the policy leaves it alone."""
        dialect = DIALECT_ANTHROPIC_MESSAGES
        if relayed and self.link is not None:
            async for chunk in self._relay(self.link, call_id, request, response, dialect, SSEDecoder()):
                yield chunk
            return
        bridge = self._event_bridge(call_id, request, dialect, _PING_EVENT)
        async for event in bridge.run(sse_events(response)):
            yield encode_event(event)

    async def _responses_stream(
        self, call_id: str, request: dict[str, Any], response: Any, relayed: bool
    ) -> AsyncIterator[Any]:
        """A Responses stream: LiteLLM's typed events as JSON to the policy, its events back as
        LiteLLM's own objects (a failure as an OpenAI error, then `response.failed`: see
        `responses_stream`); relayed untouched when the policy leaves it alone."""
        dialect = DIALECT_OPENAI_RESPONSES
        if relayed and self.link is not None:
            async for chunk in self._relay(self.link, call_id, request, response, dialect, EventDecoder()):
                yield chunk
            return
        bridge = self._event_bridge(call_id, request, dialect, _SSE_KEEPALIVE)
        async for item in written_events(bridge.run(response_events(response))):
            yield item

    @staticmethod
    def _relay(
        link: PolicyLink,
        call_id: str,
        request: dict[str, Any],
        response: Any,
        dialect: str,
        decoder: StreamDecoder,
    ) -> AsyncIterator[Any]:
        """A stream of an event dialect passed through unchanged, its decoded events reported."""
        fields = {DIALECT_KEY: dialect}
        return link.relay_stream(call_id, request, response, start_fields=fields, decoder=decoder)

    def _event_bridge(
        self, call_id: str, request: dict[str, Any], dialect: str, keepalive: Any
    ) -> StreamBridge:
        """The policed stream of a dialect whose CHUNKs are event objects (Messages, Responses),
        whose errors LiteLLM writes in that dialect."""
        return StreamBridge(
            self.config,
            call_id,
            request,
            _event,
            start_fields={DIALECT_KEY: dialect},
            errors_in_dialect=True,
            keepalive=keepalive,
        )


luthien_callback = LuthienCallback()
