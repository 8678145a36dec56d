"""The LiteLLM door's adapter: one LiteLLM hook call through the policy API, recorded and published.

The native door comes through it too (`Pipeline.police_request`, ...), so a call is recorded and
published the same way whichever door it used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from luthien_proxy.backends.policy_state import PolicyState
from luthien_proxy.backends.telemetry import note_policy
from luthien_proxy.dialects.dialect import Dialect
from luthien_proxy.dialects.registry import UnknownDialect, dialect_named
from luthien_proxy.model import MalformedToolCall
from luthien_proxy.pipeline.active_policies import ActivePolicies
from luthien_proxy.pipeline.identity import CallIdentity, facts_of, identity_of
from luthien_proxy.pipeline.policing import police_request, police_response
from luthien_proxy.pipeline.recorder import CallRecorder
from luthien_proxy.policies import LuthienPolicy, PolicyContext, PolicyRejection, overrides
from luthien_proxy.redaction import redact, redact_text
from luthien_proxy.wire import (
    CHUNK_HOOK,
    DIALECT_KEY,
    DOOR_LITELLM,
    FAILURE_HOOK,
    HOOK_RECORD_PREFIX,
    LOG_FAILURE_HOOK,
    LOG_PRE_API_CALL_HOOK,
    LOG_SUCCESS_HOOK,
    MODERATION_HOOK,
    POLICY_VERSION_KEY,
    PRE_CALL_HOOK,
    RESULT_RECORD_PREFIX,
    STREAM_HOOK,
    SUCCESS_HOOK,
)

Payload = dict[str, Any]
logger = logging.getLogger(__name__)


class HookInputError(ValueError):
    """The hook payload lacks what the hook needs (or its response is not a chat completion); the
    message says what. The hook API answers 422, the native door 502 (the model's answer is bad)."""


@dataclass(frozen=True)
class HookOutcome:
    """The payload with the policy's changes applied, or the rejection the policy raised."""

    result: Payload | None
    rejection: PolicyRejection | None = None
    #: `result` as its record has it (redacted): a door recording it again reuses this walk.
    recorded: Payload | None = None


Runner = Callable[[LuthienPolicy, Payload, PolicyContext, str, Dialect], Awaitable[Payload]]

#: The policy method each LiteLLM hook runs (`STREAM_HOOK` runs in `pipeline.stream`); the hooks
#: not here are recorded, never policed. Only this adapter knows LiteLLM's hook names.
POLICY_METHODS = {
    PRE_CALL_HOOK: "on_request",
    SUCCESS_HOOK: "on_response",
    FAILURE_HOOK: "on_failure",
    STREAM_HOOK: "on_stream",
}


def answers(policy: LuthienPolicy, hook: str) -> bool:
    """Whether `policy` does anything for `hook` (so a caller must wait for its answer)."""
    method = POLICY_METHODS.get(hook)
    return method is not None and overrides(policy, method)


def _optional_object(payload: Payload, key: str) -> dict[str, Any]:
    value = payload.get(key)
    return cast("dict[str, Any]", value) if isinstance(value, dict) else {}


def _require_object(payload: Payload, key: str, hook: str) -> dict[str, Any]:
    value = payload.get(key)
    if not isinstance(value, dict):
        raise HookInputError(f"{hook} needs a JSON object in field {key!r}")
    return cast("dict[str, Any]", value)


async def _pre_call(
    policy: LuthienPolicy, payload: Payload, ctx: PolicyContext, hook: str, dialect: Dialect
) -> Payload:
    _require_object(payload, "data", hook)
    if not overrides(policy, "on_request"):
        return payload  # nothing judges the request: it goes as sent, never decoded
    new_request = await police_request(policy, ctx, dialect)
    return payload if new_request is None else {**payload, "data": new_request}


async def _post_call_success(
    policy: LuthienPolicy, payload: Payload, ctx: PolicyContext, hook: str, dialect: Dialect
) -> Payload:
    original = _require_object(payload, "response", hook)
    if not overrides(policy, "on_response"):
        return payload  # nothing judges the response: it passes as the model sent it
    try:
        encoded = await police_response(policy, original, ctx, dialect)
    except MalformedToolCall as exc:
        raise HookInputError(f"{hook}: the response is not a valid {dialect.response_noun}: {exc}") from None
    return payload if encoded == original else {**payload, "response": encoded}


async def _post_call_failure(
    policy: LuthienPolicy, payload: Payload, ctx: PolicyContext, hook: str, dialect: Dialect
) -> Payload:
    await policy.on_failure(str(payload.get("original_exception", "")), ctx)
    return payload


async def _observe_only(
    policy: LuthienPolicy, payload: Payload, ctx: PolicyContext, hook: str, dialect: Dialect
) -> Payload:
    return payload


#: Keyed by `wire.HOOKS`, the hook names the callback may send.
HOOK_RUNNERS: dict[str, Runner] = {
    PRE_CALL_HOOK: _pre_call,
    # Moderation runs alongside the model call, after `on_request` already policed the request.
    MODERATION_HOOK: _observe_only,
    SUCCESS_HOOK: _post_call_success,
    FAILURE_HOOK: _post_call_failure,
    # Streams are policed by `pipeline.stream`; per-chunk and logging hooks come after the client
    # already has its answer. These are recorded, never policed.
    CHUNK_HOOK: _observe_only,
    LOG_PRE_API_CALL_HOOK: _observe_only,
    LOG_SUCCESS_HOOK: _observe_only,
    LOG_FAILURE_HOOK: _observe_only,
}


#: Where a LiteLLM call's routed policy choice is shared (policy state), and for how long.
SHARED_CHOICE_PREFIX = "call-policy:"
SHARED_CHOICE_TTL_S = 3600
#: Hooks after which a call is over: its policy choice is let go.
_CALL_ENDS = frozenset({SUCCESS_HOOK, FAILURE_HOOK})


class HookPipeline:
    """The active policies plus the recorder: one hook call in, one outcome out."""

    def __init__(
        self, policy: LuthienPolicy | ActivePolicies, recorder: CallRecorder, policy_state: PolicyState
    ) -> None:
        self.policies = policy if isinstance(policy, ActivePolicies) else ActivePolicies(policy)
        self.recorder = recorder
        self.policy_state = policy_state
        self.counters: Counter[str] = Counter()
        self._sharing: set[asyncio.Task[None]] = set()

    async def run(self, hook: str, raw_payload: Payload) -> HookOutcome:
        """Police `raw_payload` for `hook`; raises `KeyError` for an unknown hook name."""
        runner = HOOK_RUNNERS[hook]
        # The policy gets (and the door forwards) what the client sent; records get a redacted copy.
        payload = raw_payload
        recorded = redact(raw_payload)
        ids = identity_of(payload)
        try:
            dialect = dialect_named(payload.get(DIALECT_KEY))
        except UnknownDialect as exc:
            raise HookInputError(str(exc)) from None
        ctx = PolicyContext(
            call_id=ids.call_id or "",
            trace_id=ids.trace_id,
            raw_request=_optional_object(payload, "request_data" if hook == FAILURE_HOOK else "data"),
            state=self.policy_state,
            _decisions=self.recorder.decision_sink(ids, hook),
            _decode=dialect.decode_request,
        )
        self.counters[hook] += 1
        self.recorder.record(HOOK_RECORD_PREFIX + hook, ids, {"hook": hook, "payload": recorded})
        # The call's policy is chosen when it starts; its later hooks run on that choice.
        facts = facts_of(payload)
        known = payload.get(POLICY_VERSION_KEY)  # the version the LiteLLM callback acted on
        chosen = (self.policies.start if hook == PRE_CALL_HOOK else self.policies.of)(
            ids.call_id, facts, known
        )
        note_policy(chosen.record())  # on the hook's span and its call's
        routed = bool(self.policies.current.rules)
        if hook == PRE_CALL_HOOK and ids.call_id and facts.door == DOOR_LITELLM and routed:
            self._share_choice(ids.call_id, chosen.record())
        started = time.perf_counter()
        try:
            result = await runner(chosen.policy, payload, ctx, hook, dialect)
        except PolicyRejection as rejection:
            self.policies.end(ids.call_id)
            self._record_rejection(hook, ids, recorded, rejection, started, chosen.record())
            return HookOutcome(result=None, rejection=rejection)
        except BaseException:
            if hook in _CALL_ENDS:
                self.policies.end(ids.call_id)
            raise
        if hook in _CALL_ENDS:
            self.policies.end(ids.call_id)
        duration_ms = (time.perf_counter() - started) * 1000
        # A hook the policy does not answer hands its payload back untouched: redacted above already.
        untouched = result is payload and not answers(chosen.policy, hook)
        recorded_result = recorded if untouched else redact(result)
        self.recorder.record(
            RESULT_RECORD_PREFIX + hook,
            ids,
            {
                "hook": hook,
                "original": recorded,
                "result": recorded_result,
                "duration_ms": duration_ms,
                "policy": chosen.record(),
            },
        )
        return HookOutcome(result=result, recorded=recorded_result)

    def _share_choice(self, call_id: str, chosen: dict[str, str]) -> None:
        """Tell the other instances this call's choice, off the request path: its stream may reach
        one of them, without the key routing chose by (`Pipeline.stream` reads it there)."""

        async def share() -> None:
            try:
                await self.policy_state.set(SHARED_CHOICE_PREFIX + call_id, chosen, SHARED_CHOICE_TTL_S)
            except Exception as exc:
                logger.warning("sharing the policy choice of call %s failed: %s", call_id, exc)

        task = asyncio.get_running_loop().create_task(share())
        self._sharing.add(task)
        task.add_done_callback(self._sharing.discard)

    def _record_rejection(
        self,
        hook: str,
        ids: CallIdentity,
        payload: Payload,
        rejection: PolicyRejection,
        started: float,
        policy: dict[str, str],
    ) -> None:
        self.counters["rejections"] += 1
        message = redact_text(rejection.message)
        decision = {"action": "reject", "message": message, "status_code": rejection.status_code}
        self.recorder.record(
            RESULT_RECORD_PREFIX + hook,
            ids,
            {
                "hook": hook,
                "original": payload,
                "result": None,
                "decision": decision,
                "duration_ms": (time.perf_counter() - started) * 1000,
                "policy": policy,
            },
        )
