"""The one pipeline every door runs a call through: identity, redaction, policing, recording, streams.

Redaction and identity are imported eagerly (stdlib only); the rest on first use, so the LiteLLM
callback can import `pipeline.redaction` without loading the policies, the store and the bus.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from luthien_proxy.pipeline.identity import CallIdentity, identity_of
from luthien_proxy.pipeline.redaction import REDACTED, redact

if TYPE_CHECKING:
    from luthien_proxy.pipeline.hooks import HOOK_RUNNERS, HookInputError, HookOutcome, HookPipeline
    from luthien_proxy.pipeline.pipeline import Pipeline, StreamCall, StreamEnd
    from luthien_proxy.pipeline.recorder import CallRecorder

_LAZY = {
    "HOOK_RUNNERS": "luthien_proxy.pipeline.hooks",
    "HookInputError": "luthien_proxy.pipeline.hooks",
    "HookOutcome": "luthien_proxy.pipeline.hooks",
    "HookPipeline": "luthien_proxy.pipeline.hooks",
    "CallRecorder": "luthien_proxy.pipeline.recorder",
    "Pipeline": "luthien_proxy.pipeline.pipeline",
    "StreamCall": "luthien_proxy.pipeline.pipeline",
    "StreamEnd": "luthien_proxy.pipeline.pipeline",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "HOOK_RUNNERS",
    "REDACTED",
    "CallIdentity",
    "CallRecorder",
    "HookInputError",
    "HookOutcome",
    "HookPipeline",
    "Pipeline",
    "StreamCall",
    "StreamEnd",
    "identity_of",
    "redact",
]
