"""`PolicyHost`: what the process running a policy hands it — clock, environment, HTTP, model routes,
the audit queue, the tracer.

A policy or protocol never reads the environment, builds an HTTP client or reads the model config
itself; it asks the host the loader gave it (a `host` keyword in its `__init__`). The control plane
gets the default host (`PolicyHost.from_process()`); a test builds one with its own environment and
a fake clock.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import httpx
from opentelemetry.trace import Tracer

from luthien_proxy.backends.audit import AuditQueue
from luthien_proxy.backends.telemetry import NO_TRACER
from luthien_proxy.config_values import expand_vars, resolve_env
from luthien_proxy.http_client import LoopBoundClient
from luthien_proxy.model_routes import ModelRoutes, load_model_routes
from luthien_proxy.settings import DEFAULT_MODEL_CONFIG

T = TypeVar("T")


def _shared_client() -> httpx.AsyncClient:
    # Every model and webhook call passes its own timeout. No cap on connections: each section
    # (monitor, trusted, samples, alerts) used to have a pool of its own, and one section's burst
    # (a slow webhook's pending alerts) must not queue another's judge calls behind it. Each
    # section bounds its own concurrency (`max_pending`, `samples`, one judge call per tool call).
    return httpx.AsyncClient(limits=httpx.Limits(max_connections=None, max_keepalive_connections=100))


@dataclass
class PolicyHost:
    """One per loaded policy (chain members share their chain's); close it with `aclose`."""

    #: Where `os.environ/NAME` and `${NAME}` config values and the protocols' default endpoints
    #: (`LUTHIEN_JUDGE_BASE_URL`, `LUTHIEN_DEMO_UPSTREAM_URL`) are looked up.
    environ: Mapping[str, str]
    #: Wall-clock seconds (state windows and timestamps); a test passes a fake one.
    clock: Callable[[], float] = time.time
    #: The untrusted model's routes; None: read once, on first use, from `LUTHIEN_MODEL_CONFIG`.
    routes: ModelRoutes | None = None
    #: The one persistent HTTP client every section of the policy sends through.
    http: LoopBoundClient = field(default_factory=lambda: LoopBoundClient(_shared_client))
    #: Where held tool calls wait for a person (`protocols.audit`); the control plane binds its
    #: queue when it opens (`bind_audits`). None: nothing can be held, an audit falls back.
    audits: AuditQueue | None = None
    #: Where the policy's judge calls put their spans; the control plane binds the app's tracer
    #: when it opens (`bind_tracer`). `NO_TRACER`: nothing is traced.
    tracer: Tracer = NO_TRACER

    @classmethod
    def from_process(cls) -> PolicyHost:
        """The process's own host. The live environment, not a copy: `luthien up` loads the policy
        to validate it before the demo upstream's address is in the environment, so the default
        endpoints are looked up per call."""
        return cls(environ=os.environ)

    def resolve(self, value: T) -> T | str | None:
        """`os.environ/NAME` → the variable's value; anything else unchanged."""
        return resolve_env(value, self.environ)

    def expand(self, text: str) -> str:
        """`text` with its set `${NAME}` references expanded (unset ones left as written)."""
        return expand_vars(text, self.environ)

    def model_routes(self) -> ModelRoutes:
        """The routes of the model config (none when it does not exist)."""
        if self.routes is None:
            path = Path(self.environ.get("LUTHIEN_MODEL_CONFIG") or DEFAULT_MODEL_CONFIG)
            self.routes = load_model_routes(path, required=False, environ=self.environ)
        return self.routes

    async def aclose(self) -> None:
        """Close the HTTP client (shutdown, tests); a later call opens a fresh one."""
        await self.http.aclose()
