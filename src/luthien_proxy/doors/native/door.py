"""What the native door's routes get from their host (`app.state.native_door`): a call service per
dialect, the client key, the body limit — nothing else of the control plane."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from luthien_proxy.doors.native.calls import NativeCalls


@dataclass(frozen=True)
class NativeDoor:
    #: OpenAI chat (`/v1/chat/completions`), Anthropic Messages (`/v1/messages`), OpenAI Responses.
    chat: NativeCalls
    messages: NativeCalls
    responses: NativeCalls
    #: The key clients must present (`LITELLM_MASTER_KEY`); `None` disables the door, except for
    #: models whose callers' own key goes upstream.
    client_key: str | None
    max_body_bytes: int


def native_door(request: Request) -> NativeDoor:
    return request.app.state.native_door
