"""Policy state and decision records, on both backends: what control protocols build on."""

from __future__ import annotations

import asyncio
import uuid

import orjson

from luthien_proxy.backends.events import call_channel
from luthien_proxy.model import Request
from luthien_proxy.policies import LuthienPolicy, PolicyContext
from tests.conftest import OpenServices, api_client


async def test_values_counters_and_lists(open_services: OpenServices) -> None:
    state = (await open_services()).policy_state
    key = f"test:{uuid.uuid4().hex}"
    assert await state.get(key + ":v") is None
    await state.set(key + ":v", {"budget": 3, "tags": ["a"]})
    assert await state.get(key + ":v") == {"budget": 3, "tags": ["a"]}
    assert await state.increment(key + ":n") == 1.0
    assert await state.increment(key + ":n", 2.5) == 3.5
    for n in range(5):
        await state.push(key + ":l", {"score": n / 10}, max_items=3)
    assert await state.items(key + ":l") == [{"score": 0.2}, {"score": 0.3}, {"score": 0.4}]
    await state.delete(key + ":v")
    assert await state.get(key + ":v") is None


async def test_values_expire_after_their_ttl(open_services: OpenServices) -> None:
    state = (await open_services()).policy_state
    key = f"ttl:{uuid.uuid4().hex}"
    await state.set(key, "soon gone", ttl_seconds=1)
    await state.increment(key + ":n", ttl_seconds=1)
    assert await state.get(key) == "soon gone"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while await state.get(key) is not None:
        assert loop.time() < deadline, "value outlived its TTL"
        await asyncio.sleep(0.05)
    assert await state.increment(key + ":n", 0) == 0.0


class CountingJudge(LuthienPolicy):
    """Counts calls per trace in shared state and records a decision each time."""

    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        seen = await ctx.state.increment(f"seen:{ctx.trace_id}")
        ctx.record_decision({"action": "allow", "score": 0.1, "seen_in_trace": seen})
        return None


async def test_decisions_are_recorded_published_and_shown(open_services: OpenServices) -> None:
    services = await open_services(CountingJudge())
    trace = f"trace-{uuid.uuid4().hex[:6]}"
    payload = {"data": {"messages": [], "litellm_call_id": "judged-1", "litellm_trace_id": trace}}
    async with api_client(services) as client, services.bus.subscribe((call_channel("judged-1"),)) as events:
        await client.post("/api/hooks/async_pre_call_hook", json=payload)
        await client.post("/api/hooks/async_pre_call_hook", json=payload)
        await services.bus.flush()
        published = [orjson.loads(await events.get(timeout=5) or b"{}") for _ in range(4)]
        await services.writer.flush()
        view = (await client.get("/api/hooks/conversation", params={"call_id": "judged-1"})).json()["call"]
    decisions = [e["payload"] for e in published if e["type"] == "policy_decision"]
    assert [d["seen_in_trace"] for d in decisions] == [1.0, 2.0]
    assert [d["seen_in_trace"] for d in view["decisions"]] == [1.0, 2.0]
    assert await services.policy_state.get(f"seen:{trace}") == 2.0
