"""`NativeChat`: a chat completion served by the control plane itself, through the same pipeline.

Non-streamed: the policy's `on_request` → upstream → `on_response`, each recorded and published
exactly as for a call through LiteLLM. Streamed: `on_request`, then the upstream chunks run
through `Pipeline.stream`, as the WebSocket route's do, each output frame handed straight to the
transport's `FrameSink` (no relay task or queue in between). Nothing is sent to the client until
the policy has produced its first output, so a refusal or failure before that is a proper HTTP
error; after it, the stream ends with an error event.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from luthien_proxy.call_scope import MASTER_PRINCIPAL, scoped_id
from luthien_proxy.doors.native.upstream import UpstreamClient, UpstreamError
from luthien_proxy.model_routes import ModelRoute
from luthien_proxy.pipeline import CallIdentity, HookInputError, HookOutcome, Pipeline, StreamEnd
from luthien_proxy.pipeline.pipeline import without_call_ids
from luthien_proxy.pipeline.stream import UpstreamFailed
from luthien_proxy.redaction import redact_text
from luthien_proxy.wire import PRE_CALL_HOOK, SUCCESS_HOOK

logger = logging.getLogger(__name__)

_DONE = b"data: [DONE]\n\n"


class ChatError(Exception):
    """What the client gets instead of an answer: an OpenAI-style error with `status_code`."""

    def __init__(self, status_code: int, message: str, kind: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.kind = kind
        # The pipeline records a rejection as the call's outcome; anything else `_failed` records.
        self.recorded = kind == "policy_rejection"

    def body(self) -> dict[str, Any]:
        return {
            "error": {"message": self.message, "type": self.kind, "param": None, "code": self.status_code}
        }


@dataclass(frozen=True, slots=True)
class CallIds(CallIdentity):
    """A call's ids as this door makes them: it always has a call id."""

    call_id: str

    @classmethod
    def new(cls, trace_id: str | None) -> CallIds:
        """A call id of ours; the client's trace id in the namespace of the one key this door
        serves, the master key (`call_scope`)."""
        return cls(str(uuid.uuid4()), scoped_id(MASTER_PRINCIPAL, trace_id))


def _client_error(end: StreamEnd) -> ChatError | None:
    """What the client gets for a stream that ended early; None when it ended well or the client is gone."""
    if end.status in ("success", "disconnected"):
        return None
    kind = {"rejected": "policy_rejection", "upstream_error": "upstream_error", "timeout": "timeout"}.get(
        end.status, "policy_error"
    )
    return ChatError(end.status_code, end.error or end.status, kind)


def _upstream_error(exc: UpstreamError) -> ChatError:
    return ChatError(exc.status_code, exc.message, "upstream_error")


def _error_frame(error: ChatError) -> bytes:
    return b"data: " + orjson.dumps(error.body()) + b"\n\n"


class FrameSink(Protocol):
    """Where a stream's SSE frames go: the first one starts the HTTP response."""

    @property
    def started(self) -> bool: ...

    async def send(self, frame: bytes, *, urgent: bool = False) -> None:
        """Send `frame`; `urgent` asks for it to be written now rather than coalesced with the next."""
        ...

    async def end(self, frame: bytes) -> None:
        """Send the last frame and finish the response."""
        ...


class NativeChat:
    """Serves chat completions for the models in `routes`, policed by `pipeline`."""

    def __init__(self, pipeline: Pipeline, upstreams: UpstreamClient, routes: dict[str, ModelRoute]) -> None:
        self.pipeline = pipeline
        self.upstreams = upstreams
        self.routes = routes

    def route_for(self, model: str) -> ModelRoute:
        route = self.routes.get(model)
        if route is None:
            served = ", ".join(sorted(self.routes)) or "none"
            raise ChatError(
                404, f"model {model!r} is not served by this front door (served: {served})", "model_not_found"
            )
        return route

    async def _policed(self, hook: str, outcome: Awaitable[HookOutcome]) -> dict[str, Any]:
        """The result of a policed step; a rejection or a policy failure becomes a `ChatError`.

        Never fails open: the policy runs in this process, so a failure here is the policy failing
        on this call — which a client or a model can provoke — not an unreachable control plane.
        """
        try:
            done = await outcome
        except HookInputError as exc:
            raise ChatError(502, f"the upstream's answer was refused: {exc}", "upstream_error") from None
        except Exception as exc:
            raise ChatError(
                500, redact_text(f"policy failed in {hook}: {type(exc).__name__}: {exc}"), "policy_error"
            ) from exc
        if done.rejection is not None:
            rejection = done.rejection
            raise ChatError(rejection.status_code, rejection.message, "policy_rejection")
        assert done.result is not None
        return done.result

    async def _request(self, body: dict[str, Any], ids: CallIds) -> tuple[dict[str, Any], ModelRoute]:
        """The policed request, and where it goes."""
        result = await self._policed(PRE_CALL_HOOK, self.pipeline.police_request(ids, body))
        rewritten = result.get("data")
        data = rewritten if isinstance(rewritten, dict) else body
        return data, self.route_for(str(data.get("model")))

    def _upstream_body(self, data: dict[str, Any], route: ModelRoute) -> dict[str, Any]:
        body = without_call_ids(data)
        body["model"] = route.upstream_model
        return body

    async def _failed(self, data: dict[str, Any], ids: CallIds, error: ChatError) -> ChatError:
        await self.pipeline.record_failure(ids, data, error.message)
        error.recorded = True
        return error

    async def complete(self, body: dict[str, Any], ids: CallIds) -> dict[str, Any]:
        """A policed non-streamed completion; raises `ChatError` for anything but success, with
        the call recorded as failed (an unknown model too), so no call stays "in progress"."""
        try:
            return await self._complete(body, ids)
        except ChatError as error:
            raise (error if error.recorded else await self._failed(body, ids, error)) from None

    async def stream(self, body: dict[str, Any], ids: CallIds, out: FrameSink) -> None:
        """A policed stream, written frame by frame to `out` (see `_stream`); a `ChatError` raised
        before the first frame is recorded as the call's outcome first."""
        try:
            await self._stream(body, ids, out)
        except ChatError as error:
            raise (error if error.recorded else await self._failed(body, ids, error)) from None

    async def _complete(self, body: dict[str, Any], ids: CallIds) -> dict[str, Any]:
        data, route = await self._request(body, ids)
        try:
            response = await self.upstreams.complete(route, self._upstream_body(data, route))
        except UpstreamError as exc:
            raise await self._failed(data, ids, _upstream_error(exc)) from None
        result = await self._policed(SUCCESS_HOOK, self.pipeline.police_response(ids, data, response))
        final = result.get("response")
        return final if isinstance(final, dict) else response

    async def _stream(self, body: dict[str, Any], ids: CallIds, out: FrameSink) -> None:
        """A policed stream, written frame by frame to `out`.

        Raises `ChatError` if it fails before the first frame (nothing has been sent, so the client
        can get a proper HTTP error); after that, a failure ends the stream with an error frame.
        """
        data, route = await self._request(body, ids)
        failure: ChatError | None = None
        async with self.pipeline.stream(ids.call_id, data, source="the upstream") as call:
            first_token_sent = False

            async def send(encoded: bytes) -> None:
                # Until the first token is out, nothing waits to be coalesced: time to first token
                # is what a user feels. `final_parts[-1]` is the text of the chunk being sent.
                nonlocal first_token_sent
                if first_token_sent:
                    await out.send(b"data: " + encoded + b"\n\n")
                else:
                    first_token_sent = bool(call.stream.final_parts[-1])
                    await out.send(b"data: " + encoded + b"\n\n", urgent=True)

            try:
                async with self.upstreams.stream(route, self._upstream_body(data, route)) as chunks:
                    end = await call.run(chunks, send)
            except UpstreamError as exc:
                end = call.abort(UpstreamFailed(exc.message, exc.status_code))
                # Nothing reached the policy: the call failed as a non-streamed one would.
                failure = await self._failed(data, ids, _upstream_error(exc))
            if end.status == "success":
                await out.end(_DONE)
            failure = failure or _client_error(end)
        if failure is not None:
            if not out.started:
                raise failure
            await out.end(_error_frame(failure))
