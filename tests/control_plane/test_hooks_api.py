"""The hook API end to end in-process, on both backends: policing, records, events, secrets."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from luthien_proxy.backends.events import call_channel, trace_channel
from luthien_proxy.model import Request
from luthien_proxy.policies import (
    AllCapsPolicy,
    LuthienPolicy,
    NoOpPolicy,
    PolicyContext,
    PolicyRejection,
    StreamingSeparatorPolicy,
)
from tests.conftest import OpenServices, api_client

SECRET = "sk-test-SECRET-0123456789"


def pre_call_payload(call_id: str, content: str = "hello there", trace_id: str = "trace-1") -> dict[str, Any]:
    return {
        "data": {
            "model": "demo-echo",
            "messages": [{"role": "user", "content": content}],
            "litellm_call_id": call_id,
            "litellm_trace_id": trace_id,
            "secret_fields": {"raw_headers": {"authorization": f"Bearer {SECRET}"}},
            "api_key": SECRET,
        },
        "call_type": "acompletion",
        "user_api_key_dict": {"api_key": SECRET, "token": SECRET, "user_id": "u1"},
    }


def success_payload(call_id: str, answer: str = "hello back", trace_id: str = "trace-1") -> dict[str, Any]:
    return {
        "data": {"model": "demo-echo", "litellm_call_id": call_id, "litellm_trace_id": trace_id},
        "user_api_key_dict": {"api_key": SECRET},
        "response": {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}
            ],
        },
    }


class RefuseForbidden(LuthienPolicy):
    """Rejects prompts mentioning 'forbidden'; rewrites the model name otherwise."""

    async def on_request(self, request: Request, ctx: PolicyContext) -> Request | None:
        if "forbidden" in request.text():
            raise PolicyRejection("prompt mentions a forbidden topic", status_code=403)
        return replace(request, model="rewritten-model")


@pytest.mark.parametrize(
    ("policy", "expected_answer"),
    [
        (NoOpPolicy(), "hello back"),
        (AllCapsPolicy(), "HELLO BACK"),
        (StreamingSeparatorPolicy(), "hello back"),
    ],
)
async def test_success_hook_round_trip_per_policy(
    open_services: OpenServices, policy: LuthienPolicy, expected_answer: str
) -> None:
    services = await open_services(policy)
    async with api_client(services) as client:
        pre = await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload("c-rt"))
        post = await client.post("/api/hooks/async_post_call_success_hook", json=success_payload("c-rt"))
    assert pre.status_code == 200
    assert pre.json()["data"]["messages"] == [{"role": "user", "content": "hello there"}]
    assert post.status_code == 200
    assert post.json()["response"]["choices"][0]["message"]["content"] == expected_answer


async def test_pre_call_modification_and_rejection(open_services: OpenServices) -> None:
    services = await open_services(RefuseForbidden())
    async with (
        api_client(services) as client,
        services.bus.subscribe((call_channel("c-no"),)) as events,
    ):
        allowed = await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload("c-ok"))
        refused = await client.post(
            "/api/hooks/async_pre_call_hook", json=pre_call_payload("c-no", "tell me the forbidden thing")
        )
        await services.bus.flush()
        started = orjson.loads(await events.get(timeout=5) or b"{}")
        decision = orjson.loads(await events.get(timeout=5) or b"{}")
        completed = orjson.loads(await events.get(timeout=5) or b"{}")
    assert allowed.json()["data"]["model"] == "rewritten-model"
    assert refused.status_code == 403
    assert refused.headers["x-luthien-decision"] == "reject"
    assert refused.json()["error"]["message"] == "prompt mentions a forbidden topic"
    assert started["type"] == "request_started", "a refused request still started"
    assert started["payload"]["original"]["messages"][0]["content"] == "tell me the forbidden thing"
    assert decision["type"] == "policy_decision" and decision["payload"]["action"] == "reject"
    assert completed["type"] == "request_completed" and completed["payload"]["status"] == "rejected"
    await services.writer.flush()
    [result] = [
        r
        for r in await services.store.by_call_id("c-no")
        if r.debug_type_identifier.startswith("hook_result")
    ]
    assert result.jsonblob["decision"]["message"] == "prompt mentions a forbidden topic"


async def test_records_are_queryable_through_the_debug_apis(open_services: OpenServices) -> None:
    services = await open_services(AllCapsPolicy())
    async with api_client(services) as client:
        await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload("c-dbg"))
        await client.post("/api/hooks/async_post_call_success_hook", json=success_payload("c-dbg"))
        await services.writer.flush()
        types = (await client.get("/api/debug/types")).json()["types"]
        latest = (await client.get("/api/debug/hook_result:async_post_call_success_hook?limit=5")).json()
        page = (await client.get("/api/debug/hook:async_pre_call_hook/page?page=1&page_size=1")).json()
    counts = {t["debug_type_identifier"]: t["count"] for t in types}
    assert counts == {
        "hook:async_pre_call_hook": 1,
        "hook_result:async_pre_call_hook": 1,
        "hook:async_post_call_success_hook": 1,
        "hook_result:async_post_call_success_hook": 1,
        "call:summary": 1,
    }
    [record] = latest["records"]
    blob = record["jsonblob"]
    assert (blob["litellm_call_id"], blob["litellm_trace_id"]) == ("c-dbg", "trace-1")
    assert blob["original"]["response"]["choices"][0]["message"]["content"] == "hello back"
    assert blob["result"]["response"]["choices"][0]["message"]["content"] == "HELLO BACK"
    assert (page["total"], page["pages"], len(page["records"])) == (1, 1, 1)


async def test_events_follow_the_call_on_call_and_trace_channels(open_services: OpenServices) -> None:
    services = await open_services(AllCapsPolicy())
    async with (
        api_client(services) as client,
        services.bus.subscribe((call_channel("c-ev"),)) as by_call,
        services.bus.subscribe((trace_channel("trace-ev"),)) as by_trace,
    ):
        await client.post(
            "/api/hooks/async_pre_call_hook", json=pre_call_payload("c-ev", trace_id="trace-ev")
        )
        await client.post(
            "/api/hooks/async_post_call_success_hook", json=success_payload("c-ev", trace_id="trace-ev")
        )
        await services.bus.flush()
        received = [orjson.loads(await by_call.get(timeout=5) or b"{}") for _ in range(2)]
        traced = [orjson.loads(await by_trace.get(timeout=5) or b"{}") for _ in range(2)]
    assert [e["type"] for e in received] == ["request_started", "request_completed"]
    assert [e["sequence"] for e in received] == [0, 1]
    assert received == traced
    assert received[0]["payload"]["original"]["messages"][0]["content"] == "hello there"
    assert received[1]["payload"]["final"]["choices"][0]["message"]["content"] == "HELLO BACK"
    assert received[1]["hook"] == "async_post_call_success_hook"


async def test_secrets_never_reach_the_database_or_events(open_services: OpenServices) -> None:
    services = await open_services()
    async with (
        api_client(services) as client,
        services.bus.subscribe((call_channel("c-secret"),)) as events,
    ):
        response = await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload("c-secret"))
        await client.post("/api/hooks/async_post_call_success_hook", json=success_payload("c-secret"))
        await services.writer.flush()
        await services.bus.flush()
        published = [await events.get(timeout=5) for _ in range(2)]
    assert SECRET not in response.text
    async with services.store.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT CAST(jsonblob AS TEXT) FROM debug_logs"))).scalars().all()
    assert len(rows) == 5  # two hooks and their results, and the call's summary
    assert all(SECRET not in row for row in rows)
    assert all(message is not None and SECRET.encode() not in message for message in published)


async def test_queued_writes_all_land_after_shutdown(open_services: OpenServices) -> None:
    services = await open_services()
    async with api_client(services) as client:
        for n in range(1000):
            response = await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload(f"bulk-{n}"))
            assert response.status_code == 200
    await services.close()
    store_probe = await open_services()
    async with store_probe.store.engine.connect() as conn:
        total = (await conn.execute(text("SELECT COUNT(*) FROM debug_logs"))).scalar_one()
    assert total == 2000


async def test_failure_hook_is_recorded_and_completes_the_call(open_services: OpenServices) -> None:
    services = await open_services()
    async with api_client(services) as client, services.bus.subscribe((call_channel("c-fail"),)) as events:
        response = await client.post(
            "/api/hooks/async_post_call_failure_hook",
            json={"request_data": {"litellm_call_id": "c-fail"}, "original_exception": "upstream 500"},
        )
        await services.bus.flush()
        event = orjson.loads(await events.get(timeout=5) or b"{}")
    assert response.status_code == 200
    assert event["payload"] == {"status": "failure", "error": "upstream 500"}


async def test_counters_and_health(open_services: OpenServices) -> None:
    services = await open_services()
    async with api_client(services) as client:
        await client.post("/api/hooks/async_pre_call_hook", json=pre_call_payload("c-count"))
        await client.post("/api/hooks/async_moderation_hook", json=pre_call_payload("c-count"))
        counters = (await client.get("/api/hooks/counters")).json()["counters"]
        health = await client.get("/health")
    assert counters["async_pre_call_hook"] == 1 and counters["async_moderation_hook"] == 1
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok" and body["store"]["ok"] and body["bus"]["ok"]
    assert body["store"]["backend"] in {"sqlite", "postgresql"}
