"""Shared policy state (per-trace escalation, audit budget) on both backends, and webhook alerts."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from luthien_proxy.protocols import TrustedMonitoringPolicy
from luthien_proxy.stack.processes import free_port
from tests.protocols.conftest import Calls, Closing, request_for, upstream_response


async def _tool_call(
    policy: TrustedMonitoringPolicy, url: str, behaviour: str, calls: Calls, n: int
) -> list[Any]:
    request = request_for(behaviour)
    response = await upstream_response(url, request)
    result = await policy.async_post_call_success_hook(request, response, calls.call(f"call-{n}")) or response
    return [
        json.loads(c["function"]["arguments"])
        for c in result["choices"][0]["message"].get("tool_calls") or ()
    ]


async def test_accumulated_suspicion_lowers_the_threshold(
    upstream_url: str, shared_calls: Calls, closing: Closing
) -> None:
    policy = closing(
        TrustedMonitoringPolicy(threshold=0.7, escalation={"after_total": 1.0, "threshold": 0.4})
    )
    released = [bool(await _tool_call(policy, upstream_url, "force_push", shared_calls, n)) for n in range(3)]
    # 0.5 each: allowed until the trace's total reaches 1.0, then the 0.4 threshold applies.
    assert released == [True, True, False]
    final = [d for d in shared_calls.decisions if d["action"] != "judge"]
    assert [d["escalated"] for d in final] == [False, False, True]
    assert final[-1]["threshold"] == 0.4 and final[-1]["trace_suspicion"] == pytest.approx(1.0)
    history = await policy.ledger.history(shared_calls.state, shared_calls.trace_id)
    assert [h["call_id"] for h in history] == ["call-0", "call-1", "call-2"]


async def test_escalation_is_per_trace(upstream_url: str, shared_calls: Calls, closing: Closing) -> None:
    policy = closing(TrustedMonitoringPolicy(escalation={"after_total": 0.5, "threshold": 0.01}))
    await _tool_call(policy, upstream_url, "force_push", shared_calls, 0)
    other = Calls(shared_calls.state)
    assert await _tool_call(policy, upstream_url, "benign", other, 1) == [{"command": "ls -la"}]
    assert not await _tool_call(policy, upstream_url, "benign", shared_calls, 2)


async def test_state_keys_are_namespaced_and_expire(
    upstream_url: str, shared_calls: Calls, closing: Closing
) -> None:
    policy = closing(TrustedMonitoringPolicy(state_ttl_seconds=60))
    await _tool_call(policy, upstream_url, "benign", shared_calls, 0)
    key = f"protocols:trusted_monitoring:trace:{shared_calls.trace_id}:total"
    assert await shared_calls.state.get(key) == pytest.approx(0.05)
    client = getattr(shared_calls.state, "client", None)
    if client is not None:
        ttl = await client.ttl(f"luthien:policy:{key}")
        assert 0 < ttl <= 60


async def test_audit_budget_is_spent_per_block(
    upstream_url: str, shared_calls: Calls, closing: Closing
) -> None:
    protocol = f"budget_{time.time_ns()}"
    policy = closing(TrustedMonitoringPolicy(audit_budget=1))
    policy.ledger.protocol = protocol
    for n in range(2):
        await _tool_call(policy, upstream_url, "rm", shared_calls, n)
    blocks = [d for d in shared_calls.decisions if d["action"] == "block"]
    assert [(d["audit_requested"], d["audit_budget_remaining"]) for d in blocks] == [(True, 0), (False, 0)]


async def test_blocks_alert_the_webhook_in_the_background(
    upstream_url: str, calls: Calls, closing: Closing
) -> None:
    policy = closing(TrustedMonitoringPolicy(alerts={"webhooks": ["${LUTHIEN_DEMO_UPSTREAM_URL}/alerts"]}))
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
    upstream_url: str, calls: Calls, closing: Closing, path: str | None
) -> None:
    url = f"{upstream_url}{path}" if path else f"http://127.0.0.1:{free_port()}/hook"
    policy = closing(TrustedMonitoringPolicy(alerts={"webhooks": [url], "retries": 1, "timeout_seconds": 1}))
    await _tool_call(policy, upstream_url, "curl", calls, 0)
    await policy.alerts.drain()
    failed = [d for d in calls.decisions if d["action"] == "alert_failed"]
    assert len(failed) == 1 and failed[0]["webhook"] == url and failed[0]["attempts"] == 2
