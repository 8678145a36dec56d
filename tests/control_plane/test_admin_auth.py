"""With LUTHIEN_ADMIN_KEY set, everything that shows prompts needs it; the proxy's paths do not."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from luthien_proxy.control_plane import ControlPlaneServices, create_app
from luthien_proxy.control_plane.admin_auth import SESSION_COOKIE
from tests.conftest import OpenServices, api_client

#: Sessions, login limits and body limits never touch a backend: one is enough.
embedded_only = pytest.mark.parametrize("backend", ["embedded"], indirect=True)

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


def _app_client(services: ControlPlaneServices, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An in-process client of a fresh app, its requests coming from `address`."""
    transport = httpx.ASGITransport(app=create_app(services.settings, services), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://localhost")


async def _read_with_session(client: httpx.AsyncClient, token: str) -> int:
    """The status of an admin read sent with exactly this session cookie."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, token)
    return (await client.get("/api/debug/types")).status_code


@embedded_only
async def test_logout_revokes_the_session_on_the_server(open_services: OpenServices) -> None:
    services = await open_services(admin_key=ADMIN)
    async with _app_client(services) as client:
        await client.post("/login", data={"key": ADMIN})
        copied = client.cookies[SESSION_COOKIE]
        assert await _read_with_session(client, copied) == 200
        logged_out = await client.post("/logout")
        replayed = await _read_with_session(client, copied)
    assert logged_out.status_code == 303
    assert replayed == 401, "a copy of the cookie must stop working at logout"


@embedded_only
async def test_the_session_expires(open_services: OpenServices) -> None:
    services = await open_services(admin_key=ADMIN, admin_session_ttl_seconds=600)
    async with _app_client(services) as client:
        accepted = await client.post("/login", data={"key": ADMIN})
        sessions = client._transport.app.state.admin_sessions  # type: ignore[attr-defined]
        fresh = sessions.issue(ADMIN, now=time.time() - 590)
        stale = sessions.issue(ADMIN, now=time.time() - 601)
        forged = sessions.issue("not-the-admin-key")
        answers = {
            name: await _read_with_session(client, token)
            for name, token in (("fresh", fresh), ("stale", stale), ("forged", forged))
        }
    assert "Max-Age=600" in accepted.headers["set-cookie"]
    assert answers == {"fresh": 200, "stale": 401, "forged": 401}


@embedded_only
async def test_failed_logins_are_rate_limited_per_client(open_services: OpenServices) -> None:
    services = await open_services(admin_key=ADMIN)
    app = create_app(services.settings, services)

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 40000))
        return httpx.AsyncClient(transport=transport, base_url="http://localhost")

    async with client("127.0.0.1") as guesser, client("127.0.0.2") as other:
        failures = [(await guesser.post("/login", data={"key": f"guess-{n}"})).status_code for n in range(10)]
        limited = await guesser.post("/login", data={"key": ADMIN})
        unaffected = await other.post("/login", data={"key": ADMIN})
    assert failures == [401] * 10
    assert limited.status_code == 429 and "Too many failed logins" in limited.text
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert unaffected.status_code == 303, "another client's failures do not lock this one out"


@embedded_only
async def test_login_refuses_a_big_body_before_reading_it(open_services: OpenServices) -> None:
    services = await open_services(admin_key=ADMIN)
    pulled: list[int] = []

    async def megabytes() -> AsyncIterator[bytes]:
        for n in range(100):
            pulled.append(n)
            yield b"key=" + b"x" * (1024 * 1024)

    async with _app_client(services) as client:
        chunked = await client.post("/login", content=megabytes())
        declared = await client.post("/login", content=b"key=" + b"x" * 8192)
    assert chunked.status_code == declared.status_code == 413
    assert len(pulled) <= 2, f"{len(pulled)} MB read before refusing"
    assert "the limit is 4096" in declared.json()["detail"]


@embedded_only
async def test_every_route_refuses_a_body_over_the_limit(open_services: OpenServices) -> None:
    services = await open_services(max_body_bytes=1000)

    async def over_the_limit() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 600

    async with _app_client(services) as client:
        for path in ("/logout", "/health", "/api/debug/types", "/api/hooks/async_pre_call_hook", "/nowhere"):
            response = await client.post(path, content=b"x" * 1001)
            assert response.status_code == 413, path
            assert "the limit is 1000" in response.json()["detail"]
        # Chunked, the body is counted as it arrives: the login form's own limit (4096) is not reached.
        chunked = await client.post("/login", content=over_the_limit())
    assert chunked.status_code == 413
    assert "exceeds the limit of 1000 bytes" in chunked.json()["detail"]
