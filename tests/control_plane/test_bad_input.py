"""Bad input gets a 4xx that says what is wrong, and the service keeps serving afterwards."""

from __future__ import annotations

import pytest
import redis.asyncio as redis

from luthien_proxy.backends.events import RedisBus
from luthien_proxy.backends.store import DebugLogStore
from luthien_proxy.backends.store.store import create_engine
from luthien_proxy.policies import AllCapsPolicy
from tests.conftest import OpenServices, api_client

GOOD = {"data": {"model": "m", "messages": [], "litellm_call_id": "still-serving"}}


@pytest.mark.parametrize(
    ("path", "body", "status", "fragment"),
    [
        ("/api/hooks/async_pre_call_hook", b'{"data": ', 400, "not valid JSON"),
        ("/api/hooks/async_pre_call_hook", b"", 400, "empty"),
        ("/api/hooks/async_pre_call_hook", b"[1, 2]", 422, "must be a JSON object, got list"),
        ("/api/hooks/async_pre_call_hook", b'"text"', 422, "got str"),
        ("/api/hooks/async_pre_call_hook", b'{"data": 5}', 422, "needs a JSON object in field 'data'"),
        ("/api/hooks/async_post_call_success_hook", b'{"data": {}}', 422, "field 'response'"),
        ("/api/hooks/no_such_hook", b"{}", 404, "unknown hook 'no_such_hook'"),
        ("/api/hooks/async_pre_call_hook", b"\xff\xfe garbage", 400, "not valid JSON"),
        (
            "/api/hooks/async_pre_call_hook",
            b'{"data": {"x": ' + b"[" * 500 + b"]" * 500 + b"}}",
            400,
            "deeper than",
        ),
        (
            "/api/hooks/async_pre_call_hook",
            b'{"data": {"x": ' + b"[" * 5000 + b"]" * 5000 + b"}}",
            400,
            "depth",
        ),
    ],
)
async def test_bad_hook_bodies(
    open_services: OpenServices, path: str, body: bytes, status: int, fragment: str
) -> None:
    services = await open_services()
    async with api_client(services) as client:
        response = await client.post(path, content=body, headers={"content-type": "application/json"})
        assert response.status_code == status
        assert fragment in response.json()["detail"]
        assert (await client.post("/api/hooks/async_pre_call_hook", json=GOOD)).status_code == 200


@pytest.mark.parametrize(
    "choices", ['"x"', "[1]", '[{"index": 0, "message": "hi"}]', '[{"index": 0}, {"index": 0}]']
)
async def test_a_response_that_is_not_a_chat_completion_is_422(
    open_services: OpenServices, choices: str
) -> None:
    # A policy that reads responses (AllCaps) used to crash with a 500 on these.
    services = await open_services(AllCapsPolicy())
    body = b'{"data": {}, "response": {"choices": ' + choices.encode() + b"}}"
    async with api_client(services) as client:
        response = await client.post(
            "/api/hooks/async_post_call_success_hook",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert response.status_code == 422
        assert "not a valid chat completion" in response.json()["detail"]
        assert (await client.post("/api/hooks/async_pre_call_hook", json=GOOD)).status_code == 200


async def test_oversized_body_is_refused(open_services: OpenServices) -> None:
    services = await open_services(max_body_bytes=1024)
    async with api_client(services) as client:
        response = await client.post(
            "/api/hooks/async_pre_call_hook", json={"data": {"messages": [{"content": "x" * 5000}]}}
        )
        assert response.status_code == 413
        assert "limit is 1024" in response.json()["detail"]
        assert (await client.post("/api/hooks/async_pre_call_hook", json=GOOD)).status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "/api/debug/hook:x?limit=abc",
        "/api/debug/hook:x?limit=0",
        "/api/debug/hook:x?limit=100000",
        "/api/debug/hook:x/page?page=0",
        "/api/debug/hook:x/page?page_size=-3",
    ],
)
async def test_bad_query_values_are_422_with_the_reason(open_services: OpenServices, query: str) -> None:
    services = await open_services()
    async with api_client(services) as client:
        response = await client.get(query)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


async def test_hooks_require_the_proxy_token_when_set(open_services: OpenServices) -> None:
    services = await open_services(proxy_token="proxy-secret-token")
    async with api_client(services) as client:
        missing = await client.post("/api/hooks/async_pre_call_hook", json=GOOD)
        wrong = await client.post(
            "/api/hooks/async_pre_call_hook", json=GOOD, headers={"x-luthien-proxy-token": "nope"}
        )
        right = await client.post(
            "/api/hooks/async_pre_call_hook",
            json=GOOD,
            headers={"x-luthien-proxy-token": "proxy-secret-token"},
        )
    assert (missing.status_code, wrong.status_code, right.status_code) == (401, 401, 200)
    assert "x-luthien-proxy-token" in missing.json()["detail"]


async def test_health_is_503_when_a_backend_is_down(open_services: OpenServices) -> None:
    services = await open_services()
    healthy_store, healthy_bus = services.store, services.bus
    dead_redis = redis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=1)
    services.bus = RedisBus(dead_redis)
    services.store = DebugLogStore(create_engine("postgresql+asyncpg://postgres@127.0.0.1:1/none"))
    try:
        async with api_client(services) as client:
            response = await client.get("/health")
    finally:
        await services.store.close()
        await dead_redis.aclose()
        services.store, services.bus = healthy_store, healthy_bus
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "degraded"
    assert body["store"]["ok"] is False and "unreachable" in body["store"]["error"]
    assert body["bus"]["ok"] is False and "Redis unreachable" in body["bus"]["error"]


async def test_oversized_headers_are_refused_with_431(open_services: OpenServices) -> None:
    services = await open_services()
    async with api_client(services) as client:
        response = await client.get("/health", headers={"x-padding": "a" * 70_000})
        assert response.status_code == 431
        assert "limit is 65536" in response.json()["detail"]
        assert (await client.get("/health", headers={"x-padding": "a" * 1_000})).status_code == 200
