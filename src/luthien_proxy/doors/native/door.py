"""What the native door's routes get from their host (`app.state.native_door`): a call service per
dialect, the client key, the body limit — nothing else of the control plane."""

from __future__ import annotations

import hmac
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
    #: Named keys (`LUTHIEN_CLIENT_KEYS`) besides the master key: policy routing knows their callers
    #: by name, and each name's calls get ids in a namespace of their own.
    client_keys: tuple[tuple[str, str], ...] = ()

    @property
    def enabled(self) -> bool:
        return self.client_key is not None or bool(self.client_keys)

    def key_name(self, supplied: str) -> str | None:
        """The name of the named key `supplied` is, None for the master key; `KeyError` for neither.
        Every key is compared (in constant time), so the time taken says nothing of which matched."""
        found: str | None = None
        matched = False
        for name, key in ((None, self.client_key), *self.client_keys):
            if key is not None and hmac.compare_digest(supplied.encode(), key.encode()) and not matched:
                found, matched = name, True
        if not supplied or not matched:
            raise KeyError("no such key")
        return found


def native_door(request: Request) -> NativeDoor:
    return request.app.state.native_door
