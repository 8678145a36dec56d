"""Fixtures for protocol tests: a real demo upstream on a loopback port, the host pointing the
protocols at it, and call contexts."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import orjson
import pytest
import redis.asyncio as redis

from luthien_proxy.backends.policy_state import InProcessPolicyState, PolicyState, RedisPolicyState
from luthien_proxy.policies import PolicyContext, PolicyHost
from luthien_proxy.tooling.stack.processes import start_demo_upstream, stop
from tests.conftest import Backend

T = TypeVar("T")
Closing = Callable[[Any], Any]


@pytest.fixture(scope="session")
def upstream_url() -> Iterator[str]:
    """Base URL (`.../v1`) of a demo upstream process serving the judge, trusted and agent models."""
    proc, url = start_demo_upstream(None)
    try:
        yield url
    finally:
        stop(proc)


def demo_host(upstream_url: str, **environ: str) -> PolicyHost:
    """A host whose default endpoints are the test's demo upstream, as `luthien up --demo` sets them."""
    return PolicyHost(environ={"LUTHIEN_DEMO_UPSTREAM_URL": upstream_url, **environ})


def offline_host() -> PolicyHost:
    """A host with an empty environment, for policies that call no model (the rules)."""
    return PolicyHost(environ={})


@pytest.fixture
async def host(upstream_url: str) -> AsyncIterator[PolicyHost]:
    """The demo host, its HTTP client closed at teardown."""
    host = demo_host(upstream_url)
    yield host
    await host.aclose()


@dataclass
class Calls:
    """Contexts sharing one policy state, collecting every recorded decision."""

    state: PolicyState
    trace_id: str = field(default_factory=lambda: f"trace-{uuid.uuid4().hex}")
    decisions: list[dict[str, Any]] = field(default_factory=list)

    def call(self, call_id: str = "call-1", request: dict[str, Any] | None = None) -> PolicyContext:
        """A context for one call of the trace (its request, when the policy reads it)."""
        return PolicyContext(
            call_id, self.trace_id, request or {}, self.state, _decisions=self.decisions.append
        )

    def stream(self, request: dict[str, Any], call_id: str = "call-1") -> PolicyContext:
        return self.call(call_id, request)

    def actions(self) -> list[str]:
        return [str(d.get("action")) for d in self.decisions]


@pytest.fixture
async def closing() -> AsyncIterator[Callable[[T], T]]:
    """Register a policy (or monitor) whose persistent clients are closed at teardown."""
    opened: list[Any] = []

    def register(item: T) -> T:
        opened.append(item)
        return item

    yield register
    for item in opened:
        await item.aclose()


@pytest.fixture
def calls() -> Calls:
    return Calls(InProcessPolicyState())


@pytest.fixture
async def shared_calls(backend: Backend) -> AsyncIterator[Calls]:
    """Calls on the backend's policy state: in process, or the real Redis."""
    if backend.redis_url is None:
        yield Calls(InProcessPolicyState())
        return
    client = redis.from_url(backend.redis_url)
    try:
        yield Calls(RedisPolicyState(client))
    finally:
        await client.aclose()


def request_for(behaviour: str, seed: int | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "demo-tool",
        "messages": [{"role": "user", "content": f"go on [agent:{behaviour}]"}],
    }
    if seed is not None:
        body["seed"] = seed
    return body


async def upstream_response(url: str, request: dict[str, Any]) -> dict[str, Any]:
    """The demo upstream's real non-streamed answer to `request`."""
    async with httpx.AsyncClient() as client:
        response = await client.post(f"{url}/chat/completions", json=request)
    response.raise_for_status()
    return response.json()


async def upstream_chunks(url: str, request: dict[str, Any]) -> list[dict[str, Any]]:
    """The demo upstream's real streamed answer to `request`, as chunk dicts."""
    chunks = []
    async with (
        httpx.AsyncClient() as client,
        client.stream("POST", f"{url}/chat/completions", json={**request, "stream": True}) as response,
    ):
        async for line in response.aiter_lines():
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                chunks.append(orjson.loads(line[5:].strip()))
    return chunks


async def aiter_list(items: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
    for item in items:
        yield item


async def collect(iterator: AsyncIterator[T]) -> list[T]:
    return [item async for item in iterator]
