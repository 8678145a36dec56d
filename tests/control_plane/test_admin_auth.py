"""With LUTHIEN_ADMIN_KEY set, everything that shows prompts needs it; the proxy's paths do not."""

from __future__ import annotations

import pytest

from tests.conftest import OpenServices, api_client

ADMIN = "admin-key-for-tests-0123456789"
READS = [
    "/api/hooks/recent_call_ids",
    "/api/hooks/recent_traces",
    "/api/hooks/counters",
    "/api/hooks/conversation?call_id=x",
    "/api/hooks/trace_by_call_id?call_id=x",
    "/api/debug/types",
    "/api/debug/hook:x",
    "/api/hooks/conversation/stream?call_id=x",
]


@pytest.mark.parametrize("path", READS)
async def test_reads_need_the_admin_key(open_services: OpenServices, path: str) -> None:
    services = await open_services(admin_key=ADMIN)
    async with api_client(services) as client:
        anonymous = await client.get(path)
        wrong = await client.get(path, headers={"authorization": "Bearer not-it"})
    assert anonymous.status_code == wrong.status_code == 401
    assert "LUTHIEN_ADMIN_KEY" in anonymous.json()["detail"]
    assert anonymous.headers["www-authenticate"] == "Bearer"


async def test_admin_key_opens_the_apis_and_leaves_proxy_paths_alone(open_services: OpenServices) -> None:
    services = await open_services(admin_key=ADMIN)
    async with api_client(services) as client:
        authorized = await client.get("/api/debug/types", headers={"authorization": f"Bearer {ADMIN}"})
        hook = await client.post("/api/hooks/async_pre_call_hook", json={"data": {"messages": []}})
        health = await client.get("/health")
    assert authorized.status_code == 200
    assert hook.status_code == 200, "hooks are guarded by the proxy token, not the admin key"
    assert health.status_code == 200


async def test_ui_login_sets_an_httponly_session_that_is_not_the_key(open_services: OpenServices) -> None:
    services = await open_services(admin_key=ADMIN)
    async with api_client(services) as client:
        page = await client.get("/ui?x=1")
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/ui%3Fx%3D1"
        form = await client.get("/login", params={"next": "/ui"})
        assert form.status_code == 200 and 'type="password"' in form.text
        refused = await client.post("/login", data={"key": "wrong", "next": "/ui"})
        assert refused.status_code == 401 and "not the admin key" in refused.text
        accepted = await client.post("/login", data={"key": ADMIN, "next": "/ui/conversation?call_id=c"})
        assert accepted.status_code == 303
        assert accepted.headers["location"] == "/ui/conversation?call_id=c"
        cookie = accepted.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie
        assert ADMIN not in cookie
        with_session = await client.get("/api/debug/types")
        assert with_session.status_code == 200
        await client.post("/logout")
        assert (await client.get("/api/debug/types")).status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil.example"])
async def test_login_never_redirects_off_site(open_services: OpenServices, target: str) -> None:
    services = await open_services(admin_key=ADMIN)
    async with api_client(services) as client:
        response = await client.post("/login", data={"key": ADMIN, "next": target})
    assert response.headers["location"] == "/ui"


async def test_without_an_admin_key_reads_are_open(open_services: OpenServices) -> None:
    services = await open_services()
    async with api_client(services) as client:
        assert (await client.get("/api/debug/types")).status_code == 200
