"""Errors the callback distinguishes: a policy's deliberate rejection versus the control plane failing."""

from __future__ import annotations


class PolicyRejected(Exception):
    """The policy refused the call; the client must get this status and message."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


class ControlPlaneError(Exception):
    """The control plane could not give a decision (down, slow, broken); subject to the fail mode."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


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
