"""What the native door's routes get from their host (`app.state.native_door`): the chat service,
the client key and the body limit — nothing else of the control plane."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from luthien_proxy.doors.native.chat import NativeChat


@dataclass(frozen=True)
class NativeDoor:
    chat: NativeChat
    #: The key clients must present (`LITELLM_MASTER_KEY`); `None` disables the door.
    client_key: str | None
    max_body_bytes: int


def native_door(request: Request) -> NativeDoor:
    return request.app.state.native_door
