"""Errors the callback distinguishes: a policy's deliberate rejection versus the control plane failing."""

from __future__ import annotations


class PolicyRejected(Exception):
    """The policy or the control plane refused the call (any 4xx it answers: a rejection, a body
    over its limit, a malformed payload); the client gets this status and message in every fail mode."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class ControlPlaneError(Exception):
    """The control plane gave no decision. Only an `unreachable` one (down, timed out, the connection
    dropped) may be passed by LUTHIEN_FAIL_MODE=open; one it answered with (a 5xx, a bad token,
    garbage) is always blocked, since a client might have provoked it."""

    def __init__(self, status_code: int, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.unreachable = unreachable


def blocked_reason(fail_open: bool) -> str:
    """Why a control-plane failure blocked the call, appended to its message for the client."""
    return "fail-open covers only an unreachable control plane" if fail_open else "fail-closed"


class StreamPolicyError(Exception):
    """Ends a stream that already sent chunks; LiteLLM turns it into an SSE `data: {"error": ...}` frame.

    LiteLLM re-raises an HTTPException raised mid-stream, which aborts the HTTP response without an
    error frame, so after the first chunk we raise this instead (its attributes feed ProxyException).
    """

    def __init__(self, status_code: int, message: str, error_type: str = "policy_error") -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.type = error_type
