"""`/metrics`: Prometheus text that parses, counters that move with real traffic through the native
door (outcomes, a blocked tool call's decision, latencies, a stream's first chunk), the backends'
state read on scrape, judge failures counted, labels bounded, and the admin key honoured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from luthien_proxy.backends.audit import AuditQueue, InProcessAuditStorage
from luthien_proxy.backends.events import InProcessBus
from luthien_proxy.backends.policy_state import InProcessPolicyState
from luthien_proxy.backends.store import DebugLogStore, DebugLogWriter, StoreUnavailable
from luthien_proxy.dialects.openai_chat import decode_request
from luthien_proxy.pipeline.call_summary import CallTally
from luthien_proxy.policies import PolicyContext, PolicyHost
from luthien_proxy.protocols.monitor import TrustedMonitor
from luthien_proxy.protocols.toolcalls import ToolCall
from luthien_proxy.read import metrics as metrics_module
from luthien_proxy.read.metrics import OTHER, BackendSources, BoundedLabels, ControlPlaneMetrics
from luthien_proxy.tooling.stack.processes import free_port
from tests.conftest import OpenServices, api_client
from tests.support.native_traffic import BLOCKED, KEY, PASSED, REJECTED, NativeDoor, native_door
from tests.support.waiting import eventually

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
NATIVE = {"door": "native", "dialect": "openai_chat", "model": "demo-agent"}


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels (the parser is the test)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def door(open_services: OpenServices) -> AsyncIterator[NativeDoor]:
    async with native_door(open_services) as started:
        yield started


async def _scrape(door: NativeDoor) -> Samples:
    answer = await door.client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


async def test_counters_move_with_traffic_through_the_native_door(door: NativeDoor) -> None:
    before = await _scrape(door)
    assert value(before, "luthien_calls_total", **NATIVE, outcome="passed") == 0
    for prompt in (PASSED, BLOCKED, REJECTED):
        await door.ask(prompt)
    body = {"model": "demo-agent", "messages": [{"role": "user", "content": PASSED}], "stream": True}
    streamed = await door.client.post(
        "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {KEY}"}
    )
    assert streamed.status_code == 200 and "[DONE]" in streamed.text

    async def counted() -> Samples | None:
        samples = await _scrape(door)
        calls = sum(v for (name, _), v in samples.items() if name == "luthien_calls_total")
        return samples if calls == 4 else None

    after = await eventually(counted)
    for outcome in ("passed", "blocked", "rejected"):
        assert value(after, "luthien_calls_total", **NATIVE, outcome=outcome) >= 1, outcome
    # The blocked tool call is one decision of the rules, labelled by protocol and action.
    assert value(after, "luthien_decisions_total", protocol="rules", action="block") == 1
    assert value(after, "luthien_decisions_total", protocol="policy", action="reject") == 1
    # Every call has what Luthien added; the three the upstream answered have its time; only the
    # stream has a first chunk.
    assert value(after, "luthien_added_latency_seconds_count", **NATIVE) == 4
    assert value(after, "luthien_upstream_latency_seconds_count", **NATIVE) == 3
    assert value(after, "luthien_time_to_first_chunk_seconds_count", **NATIVE) == 1
    assert 0 < value(after, "luthien_time_to_first_chunk_seconds_sum", **NATIVE) < 10
    added = value(after, "luthien_added_latency_seconds_sum", **NATIVE)
    assert 0 < added < value(after, "luthien_upstream_latency_seconds_sum", **NATIVE) + 10
    # The backends, read on scrape.
    services = door.services
    assert value(after, "luthien_store_up", backend=services.store.backend) == 1
    assert value(after, "luthien_bus_up", backend=services.bus.backend) == 1
    assert value(after, "luthien_audit_items_pending") == 0
    capacity = value(after, "luthien_write_queue_capacity")
    assert capacity == services.settings.write_queue_size
    await services.writer.flush()
    flushed = await _scrape(door)
    assert value(flushed, "luthien_records_written_total") > 0
    assert value(flushed, "luthien_write_queue_lag_seconds") >= 0
    # No call id or key ever becomes a label.
    labels = {v for (_, pairs) in flushed for _, v in pairs}
    assert KEY not in labels and not any(len(v) == 36 and v.count("-") == 4 for v in labels)


async def test_metrics_need_the_admin_key_when_one_is_set(open_services: OpenServices) -> None:
    services = await open_services(admin_key="admin-secret")
    async with api_client(services) as client:
        assert (await client.get("/metrics")).status_code == 401
        answer = await client.get("/metrics", headers={"authorization": "Bearer admin-secret"})
        assert answer.status_code == 200 and "luthien_write_queue_depth" in answer.text


@pytest.fixture
async def metrics(tmp_path: Path) -> AsyncIterator[ControlPlaneMetrics]:
    store = await DebugLogStore.open(f"sqlite+aiosqlite:///{tmp_path / 'metrics.db'}")
    bus = InProcessBus()
    sources = BackendSources(DebugLogWriter(store), store, bus, AuditQueue(InProcessAuditStorage(), bus))
    yield ControlPlaneMetrics(sources)
    await store.close()


async def test_a_judge_failure_moves_the_failure_counter(metrics: ControlPlaneMetrics) -> None:
    # A judge nobody listens for: the monitor records the failed call as it does in production.
    dead = f"http://127.0.0.1:{free_port()}/v1"
    host = PolicyHost(environ={})
    monitor = TrustedMonitor(base_url=dead, retries=0, timeout_seconds=1, host=host)
    decisions: list[dict[str, object]] = []
    ctx = PolicyContext("call-1", None, {}, InProcessPolicyState(), _decisions=decisions.append)
    request = decode_request({"model": "demo-tool", "messages": [{"role": "user", "content": "hi"}]})
    judgement = await monitor.judge(ToolCall("t1", "Bash", '{"command": "ls"}'), request, ctx, "monitoring")
    await host.aclose()
    assert judgement.error is not None
    tally = CallTally("call-1")
    tally.add("request_started", {"original": {"model": "demo-tool"}, "policy_ms": 1.5}, 100.0)
    for decision in decisions:
        tally.add("policy_decision", dict(decision), 100.1)
    tally.add("request_completed", {"status": "success"}, 100.5)
    metrics.observe_call(tally)

    samples = parse((await metrics.render()).decode())
    judge = {"protocol": "monitoring", "judge_model": "demo-judge"}
    assert value(samples, "luthien_judge_failures_total", **judge) == 1
    assert value(samples, "luthien_judge_latency_seconds_count", **judge) == 1
    assert value(samples, "luthien_decisions_total", protocol="monitoring", action="judge") == 1
    # 0.5 s from the policed request to the answer; 1.5 ms of policy.
    call = {"door": "litellm", "dialect": "openai_chat", "model": "demo-tool"}
    assert value(samples, "luthien_upstream_latency_seconds_sum", **call) == pytest.approx(0.5)
    assert value(samples, "luthien_added_latency_seconds_sum", **call) == pytest.approx(0.0015)


async def test_a_store_that_refuses_and_a_bus_that_hangs_are_reported_down(
    metrics: ControlPlaneMetrics, monkeypatch: pytest.MonkeyPatch
) -> None:
    up = parse((await metrics.render()).decode())
    assert (
        value(up, "luthien_store_up", backend="sqlite") == value(up, "luthien_bus_up", backend="memory") == 1
    )

    async def refuse() -> None:
        raise StoreUnavailable("database unreachable")

    async def hang() -> None:
        await asyncio.Event().wait()

    monkeypatch.setattr(metrics.sources.store, "ping", refuse)
    monkeypatch.setattr(metrics.sources.bus, "ping", hang)
    monkeypatch.setattr(metrics_module, "PING_TIMEOUT_S", 0.05)
    down = parse((await metrics.render()).decode())
    assert (
        value(down, "luthien_store_up", backend="sqlite")
        == value(down, "luthien_bus_up", backend="memory")
        == 0
    )


def test_a_label_keeps_a_bounded_number_of_values() -> None:
    labels = BoundedLabels(limit=2)
    assert [labels("model", m) for m in ("a", "b", "c", "a", None)] == ["a", "b", OTHER, "a", OTHER]
    assert labels("door", "x" * 500) == "x" * 80
