"""The one pipeline every door runs a call through: identity, redaction, policing, recording, streams."""

from __future__ import annotations

from luthien_proxy.pipeline.hooks import HOOK_RUNNERS, HookInputError, HookOutcome, HookPipeline
from luthien_proxy.pipeline.identity import CallIdentity, identity_of
from luthien_proxy.pipeline.pipeline import Pipeline, StreamCall, StreamEnd
from luthien_proxy.pipeline.recorder import CallRecorder

__all__ = [
    "HOOK_RUNNERS",
    "CallIdentity",
    "CallRecorder",
    "HookInputError",
    "HookOutcome",
    "HookPipeline",
    "Pipeline",
    "StreamCall",
    "StreamEnd",
    "identity_of",
]
