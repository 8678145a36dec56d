"""The policy pipeline shared by every transport: redaction, identity, policing, recording."""

from luthien_proxy.pipeline.hooks import HOOK_RUNNERS, HookInputError, HookOutcome, HookPipeline
from luthien_proxy.pipeline.identity import CallIdentity, identity_of
from luthien_proxy.pipeline.recorder import CallRecorder
from luthien_proxy.pipeline.redaction import REDACTED, redact

__all__ = [
    "HOOK_RUNNERS",
    "REDACTED",
    "CallIdentity",
    "CallRecorder",
    "HookInputError",
    "HookOutcome",
    "HookPipeline",
    "identity_of",
    "redact",
]
