"""Shared policy state (per-trace escalation, audit budget) on both backends, and webhook alerts."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from luthien_proxy.call_scope import scoped_id
from luthien_proxy.pipeline.policing import police_response
from luthien_proxy.policies import PolicyHost
from luthien_proxy.protocols import TrustedMonitoringPolicy
from luthien_proxy.protocols.state import TraceKey
from luthien_proxy.tooling.stack.processes import free_port
from tests.protocols.conftest import Calls, Closing, demo_host, request_for, upstream_response


async def _tool_call(
    policy: TrustedMonitoringPolicy, url: str, behaviour: str, calls: Calls, n: int, key: str | None = None
) -> list[Any]:
    """One judged tool call; `key`: the caller's key identity (its ids' namespace, `call_scope`)."""
    request = request_for(behaviour)
    response = await upstream_response(url, request)
    ctx = calls.call(scoped_id(key, f"call-{n}") or "", request)
    result = await police_response(policy, response, ctx)
    return [
        json.loads(c["function"]["arguments"])
        for c in result["choices"][0]["message"].get("tool_calls") or ()
    ]


async def test_accumulated_suspicion_lowers_the_threshold(
    upstream_url: str, shared_calls: Calls, closing: Closing, host: PolicyHost
) -> None:
    policy = closing(
        TrustedMonitoringPolicy(threshold=0.7, escalation={"after_total": 1.0, "threshold": 0.4}, host=host)
    )
    released = [bool(await _tool_call(policy, upstream_url, "force_push", shared_calls, n)) for n in range(3)]
    # 0.5 each: allowed until the trace's total reaches 1.0, then the 0.4 threshold applies.
    assert released == [True, True, False]
    final = [d for d in shared_calls.decisions if d["action"] != "judge"]
    assert [d["escalated"] for d in final] == [False, False, True]
    assert final[-1]["threshold"] == 0.4 and final[-1]["trace_suspicion"] == pytest.approx(1.0)
    history = await policy.ledger.history(shared_calls.state, TraceKey.of(shared_calls.call()))
    assert [h["call_id"] for h in history] == ["call-0", "call-1", "call-2"]


async def test_escalation_is_per_trace(
    upstream_url: str, shared_calls: Calls, closing: Closing, host: PolicyHost
) -> None:
    policy = closing(TrustedMonitoringPolicy(escalation={"after_total": 0.5, "threshold": 0.01}, host=host))
    await _tool_call(policy, upstream_url, "force_push", shared_calls, 0)
    other = Calls(shared_calls.state)
    assert await _tool_call(policy, upstream_url, "benign", other, 1) == [{"command": "ls -la"}]
    assert not await _tool_call(policy, upstream_url, "benign", shared_calls, 2)


def _trace_of(key: str, shared: Calls) -> Calls:
    """Calls of `key` on the trace id `shared` uses: the same id, chosen by another caller."""
    return Calls(shared.state, scoped_id(key, shared.trace_id) or "")


async def test_suspicion_is_per_key_and_trace(
    upstream_url: str, shared_calls: Calls, closing: Closing, host: PolicyHost
) -> None:
    policy = closing(TrustedMonitoringPolicy(escalation={"after_total": 0.5, "threshold": 0.01}, host=host))
    alice, mallory = _trace_of("alice-key-hash", shared_calls), _trace_of("mallory-key-hash", shared_calls)
    await _tool_call(policy, upstream_url, "force_push", mallory, 0, "mallory-key-hash")
    # Mallory's suspicion on the trace id Alice uses does not raise Alice's standing...
    assert await _tool_call(policy, upstream_url, "benign", alice, 1, "alice-key-hash") == [
        {"command": "ls -la"}
    ]
    # ...and Alice's benign calls do not dilute Mallory's: Mallory's trace is escalated.
    assert not await _tool_call(policy, upstream_url, "benign", mallory, 2, "mallory-key-hash")


async def test_a_keys_suspicion_follows_it_to_a_new_trace(
    upstream_url: str, shared_calls: Calls, closing: Closing, host: PolicyHost
) -> None:
    escalation = {"after_total": 10, "threshold": 0.01, "caller_after_total": 0.5}
    policy = closing(TrustedMonitoringPolicy(escalation=escalation, host=host))
    policy.ledger.protocol = f"caller_{time.time_ns()}"  # the key's window total starts at zero
    await _tool_call(policy, upstream_url, "force_push", Calls(shared_calls.state), 0, "mallory-key-hash")
    fresh_trace = Calls(shared_calls.state)
    assert not await _tool_call(policy, upstream_url, "benign", fresh_trace, 1, "mallory-key-hash")
    assert [d["escalated"] for d in fresh_trace.decisions if d["action"] != "judge"] == [True]
    other_key = Calls(shared_calls.state)
    assert await _tool_call(policy, upstream_url, "benign", other_key, 2, "alice-key-hash") == [
        {"command": "ls -la"}
    ]


async def test_state_keys_are_namespaced_and_expire(
    upstream_url: str, shared_calls: Calls, closing: Closing, host: PolicyHost
) -> None:
    policy = closing(TrustedMonitoringPolicy(state_ttl_seconds=60, host=host))
    await _tool_call(policy, upstream_url, "benign", shared_calls, 0)
    key = f"protocols:trusted_monitoring:trace:{shared_calls.trace_id}:total"
    assert await shared_calls.state.get(key) == pytest.approx(0.05)
    client = getattr(shared_calls.state, "client", None)
    if client is not None:
        ttl = await client.ttl(f"luthien:policy:{key}")
        assert 0 < ttl <= 60


async def test_audit_budget_is_spent_per_block(
    upstream_url: str, shared_calls: Calls, closing: Closing, host: PolicyHost
) -> None:
    protocol = f"budget_{time.time_ns()}"
    policy = closing(TrustedMonitoringPolicy(audit_budget=1, host=host))
    policy.ledger.protocol = protocol
    for n in range(2):
        await _tool_call(policy, upstream_url, "rm", shared_calls, n)
    blocks = [d for d in shared_calls.decisions if d["action"] == "block"]
    assert [(d["audit_requested"], d["audit_budget_remaining"]) for d in blocks] == [(True, 0), (False, 0)]


async def test_windows_and_timestamps_follow_the_hosts_clock(
    upstream_url: str, shared_calls: Calls, closing: Closing
) -> None:
    now = [1_000_000.0]
    host = demo_host(upstream_url)
    host.clock = lambda: now[0]
    policy = closing(TrustedMonitoringPolicy(audit_budget=1, audit_window_seconds=60, host=host))
    policy.ledger.protocol = f"clock_{time.time_ns()}"
    for n in range(3):
        if n == 2:
            now[0] += 60  # the next budget window: its audit is granted again
        await _tool_call(policy, upstream_url, "rm", shared_calls, n)
    blocks = [d for d in shared_calls.decisions if d["action"] == "block"]
    assert [(d["audit_requested"], d["audit_budget_remaining"]) for d in blocks] == [
        (True, 0),
        (False, 0),
        (True, 0),
    ]
    history = await policy.ledger.history(shared_calls.state, TraceKey.of(shared_calls.call()))
    assert [h["at"] for h in history] == [1_000_000.0, 1_000_000.0, 1_000_060.0]


async def test_blocks_alert_the_webhook_in_the_background(
    upstream_url: str, calls: Calls, closing: Closing, host: PolicyHost
) -> None:
    policy = closing(
        TrustedMonitoringPolicy(alerts={"webhooks": ["${LUTHIEN_DEMO_UPSTREAM_URL}/alerts"]}, host=host)
    )
    await _tool_call(policy, upstream_url, "rm", calls, 0)
    # The hook has returned; the delivery is still a pending background task.
    assert policy.alerts.pending
    await policy.alerts.drain()
    async with httpx.AsyncClient() as client:
        alerts = (await client.get(f"{upstream_url}/alerts")).json()["alerts"]
    mine = [a for a in alerts if a.get("trace_id") == calls.trace_id]
    assert len(mine) == 1 and mine[0]["action"] == "block" and mine[0]["call_id"] == "call-0"
    assert "rm -rf" in mine[0]["tool_call"]["arguments"]


@pytest.mark.parametrize("path", ["/alerts/fail", None])
async def test_failed_alerts_are_recorded(
    upstream_url: str, calls: Calls, closing: Closing, host: PolicyHost, path: str | None
) -> None:
    url = f"{upstream_url}{path}" if path else f"http://127.0.0.1:{free_port()}/hook"
    policy = closing(
        TrustedMonitoringPolicy(alerts={"webhooks": [url], "retries": 1, "timeout_seconds": 1}, host=host)
    )
    await _tool_call(policy, upstream_url, "curl", calls, 0)
    await policy.alerts.drain()
    failed = [d for d in calls.decisions if d["action"] == "alert_failed"]
    assert len(failed) == 1 and failed[0]["webhook"] == url and failed[0]["attempts"] == 2
