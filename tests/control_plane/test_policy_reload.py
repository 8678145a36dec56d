"""Policy hot reload (`GET`/`PUT /api/policy`, `luthien policy set`, the watched file): a new policy
applies to the next call on every instance while a stream that began before finishes on the old
one; a refused policy leaves the running one serving; the LiteLLM link is told of the change."""

from __future__ import annotations

import asyncio
import contextlib
import io
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import connect

from luthien_proxy.cli.main import main
from luthien_proxy.control_plane import ControlPlaneServices, create_app, policy_sync
from luthien_proxy.policies import parse_policy_set
from tests.conftest import REDIS_URL, Backend, OpenServices
from tests.support.live_server import serve_app
from tests.support.waiting import eventually
from tests.ui.traffic import ChunkStream, chunk_stream, pre_call

ADMIN = "admin-key-for-policy-tests"
AUTH = {"authorization": f"Bearer {ADMIN}"}
ALL_CAPS = 'name: caps\npolicy:\n  class: "luthien_proxy.policies.all_caps:AllCapsPolicy"\n'
NOOP = 'policy:\n  class: "luthien_proxy.policies.noop:NoOpPolicy"\n'


async def _next_text(stream: ChunkStream) -> str:
    """The text of the next policed chunk the control plane sends back on a stream."""
    frame = orjson.loads(await stream.ws.recv())
    assert frame["type"] == "CHUNK", frame
    return "".join(choice["delta"].get("content") or "" for choice in frame["data"]["choices"])


async def _stream_call(address: str, client: httpx.AsyncClient, call_id: str) -> str:
    """A whole streamed LiteLLM-door call (pre-call hook, then the stream); the client's text."""
    assert (await pre_call(client, call_id, f"trace-{call_id}", "stream please")).status_code == 200
    async with chunk_stream(address, call_id, f"trace-{call_id}") as stream:
        await stream.send("fresh ")
        await stream.send("call")
        return (await stream.end()).text


async def _summary(services: ControlPlaneServices, client: httpx.AsyncClient, call_id: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        await services.writer.flush()
        calls = (await client.get("/api/calls", headers=AUTH)).json()["calls"]
        return next((call for call in calls if call["call_id"] == call_id), None)

    return await eventually(check)


@contextlib.asynccontextmanager
async def _served(services: ControlPlaneServices) -> AsyncIterator[tuple[str, httpx.AsyncClient]]:
    async with (
        serve_app(create_app(services.settings, services)) as address,
        httpx.AsyncClient(base_url=f"http://{address}", timeout=10) as client,
    ):
        yield address, client


async def test_a_new_policy_reaches_both_instances_and_a_running_stream_keeps_the_old_one(
    postgres_url: str, tmp_path: Path
) -> None:
    backend = Backend("server", postgres_url, REDIS_URL)
    # A start-up policy of this test's own: a policy stored by another test is over another base.
    start = f"# two instances {uuid.uuid4()}\n{NOOP}"
    first = await ControlPlaneServices.open(backend.settings(admin_key=ADMIN), policy=parse_policy_set(start))
    second = await ControlPlaneServices.open(
        backend.settings(admin_key=ADMIN), policy=parse_policy_set(start)
    )
    old_version = first.pipeline.policies.current.version
    try:
        async with _served(first) as (address_a, client_a), _served(second) as (address_b, client_b):
            # A stream begins on the second instance under NoOp...
            assert (await pre_call(client_b, "before", "trace-before", "a story")).status_code == 200
            async with chunk_stream(address_b, "before", "trace-before") as running:
                await running.send("once ")
                assert await _next_text(running) == "once "

                # ...the policy changes through the first instance's API...
                answer = await client_a.put("/api/policy", content=ALL_CAPS, headers=AUTH)
                assert answer.status_code == 200, answer.text
                new = answer.json()
                assert (new["name"], new["yaml"]) == ("caps", ALL_CAPS)
                assert new["version"] != old_version

                # ...and reaches the second through the bus and the store.
                async def switched() -> bool:
                    found = (await client_b.get("/api/policy", headers=AUTH)).json()
                    return found["version"] == new["version"]

                await eventually(switched)
                # The next call, on either instance, runs on the new policy...
                assert await _stream_call(address_b, client_b, "after-b") == "FRESH CALL"
                assert await _stream_call(address_a, client_a, "after-a") == "FRESH CALL"
                # ...while the stream that began before finishes on the old one.
                assert second.pipeline.policies.in_flight(old_version) == 1
                await running.send("upon a time")
                assert await _next_text(running) == "upon a time"
                assert (await running.end()).end == {"type": "END"}
            assert second.pipeline.policies.in_flight(old_version) == 0

            before = await _summary(second, client_b, "before")
            after = await _summary(second, client_b, "after-b")
            assert (before["policy"], before["policy_version"], before["policy_rule"]) == (
                "NoOpPolicy",
                old_version,
                "default",
            )
            assert (after["policy"], after["policy_version"]) == ("caps", new["version"])

        # A restarting (or new) instance over the same start-up policy takes the stored one.
        path = tmp_path / "policy.yaml"
        path.write_text(start)
        third = await ControlPlaneServices.open(
            backend.settings(admin_key=ADMIN, policy_config=path, policy_config_explicit=True)
        )
        try:
            assert third.pipeline.policies.current.version == new["version"]
        finally:
            await third.close()
    finally:
        await first.close()
        await second.close()


@pytest.fixture
async def served(
    open_services: OpenServices,
) -> AsyncIterator[tuple[ControlPlaneServices, str, httpx.AsyncClient]]:
    services = await open_services(admin_key=ADMIN)
    async with _served(services) as (address, client):
        yield services, address, client


#: Refused policies, and what the refusal must say of each.
REFUSED = [
    ("policy: [unclosed", "not valid YAML"),
    ("nothing: here", "must have a 'policy' mapping"),
    ('policy: {class: "no_such_module:Policy"}', "cannot import module 'no_such_module'"),
    (
        'policy: {class: "luthien_proxy.policies.all_caps:AllCapsPolicy", config: {bogus: 1}}',
        "rejected its config",
    ),
    (
        'policies: {caps: {class: "luthien_proxy.policies.all_caps:AllCapsPolicy"}}\n'
        "routes: [{when: {key: ci}, policy: strict}]\ndefault: caps\n",
        "routes[0]: policy 'strict' is not one of policies (caps)",
    ),
    (
        'policies: {caps: {class: "luthien_proxy.policies.all_caps:AllCapsPolicy"}}\n'
        "routes: [{when: {colour: red}, policy: caps}]\ndefault: caps\n",
        "unknown condition 'colour'",
    ),
    (
        'policy: {class: "luthien_proxy.protocols:TrustedMonitoringPolicy", '
        "config: {monitor: {api_key: sk-abcdefghijklmnopqrstuvwx}}}",
        "line 1 holds a credential-shaped value",
    ),
    ("", "the body is empty"),
]


async def test_an_invalid_policy_is_refused_and_the_running_one_still_serves(
    served: tuple[ControlPlaneServices, str, httpx.AsyncClient],
) -> None:
    services, address, client = served
    running = (await client.get("/api/policy", headers=AUTH)).json()
    for body, says in REFUSED:
        refused = await client.put("/api/policy", content=body, headers=AUTH)
        assert refused.status_code == 422, refused.text
        assert says in refused.json()["detail"], (body, refused.json())
        assert (await client.get("/api/policy", headers=AUTH)).json()["version"] == running["version"]
    assert await _stream_call(address, client, "still-noop") == "fresh call"
    assert services.pipeline.policies.current.name == "NoOpPolicy"
    assert await services.policy_sync.latest() is None, "nothing refused was stored"


async def test_changing_the_policy_needs_the_admin_key(open_services: OpenServices) -> None:
    keyless = await open_services()
    async with _served(keyless) as (_, client):
        refused = await client.put("/api/policy", content=ALL_CAPS)
        assert refused.status_code == 403
        assert "LUTHIEN_ADMIN_KEY" in refused.json()["detail"]
        assert (await client.get("/api/policy")).json()["name"] == "NoOpPolicy"
    keyed = await open_services(admin_key=ADMIN)
    async with _served(keyed) as (_, client):
        wrong = await client.put("/api/policy", content=ALL_CAPS, headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert (await client.get("/api/policy")).status_code == 401
    assert keyed.pipeline.policies.current.name == "NoOpPolicy"


def _cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


async def test_luthien_policy_set_changes_the_policy_and_says_in_one_line_what_is_wrong(
    served: tuple[ControlPlaneServices, str, httpx.AsyncClient], tmp_path: Path
) -> None:
    services, address, client = served
    url = f"http://{address}"
    caps, broken = tmp_path / "caps.yaml", tmp_path / "broken.yaml"
    caps.write_text(ALL_CAPS)
    broken.write_text("policy: {class: nowhere}")

    code, out, err = await asyncio.to_thread(
        _cli, "policy", "set", str(caps), "--url", url, "--admin-key", ADMIN
    )
    assert (code, err) == (0, "")
    version = services.pipeline.policies.current.version
    assert out == f"policy caps version {version} active at {url}\n"
    assert await _stream_call(address, client, "cli-set") == "FRESH CALL"

    code, out, _ = await asyncio.to_thread(_cli, "policy", "show", "--url", url, "--admin-key", ADMIN)
    assert code == 0 and out.startswith(f"policy caps version {version}\n") and ALL_CAPS in out

    failures = {
        "refused": (str(broken), "--url", url, "--admin-key", ADMIN),
        "no key": (str(caps), "--url", url),
        "no file": (str(tmp_path / "missing.yaml"), "--url", url, "--admin-key", ADMIN),
        "no server": (str(caps), "--url", "http://127.0.0.1:9", "--admin-key", ADMIN),
    }
    said = {name: await asyncio.to_thread(_cli, "policy", "set", *argv) for name, argv in failures.items()}
    assert all(code == 1 and out == "" and err.count("\n") == 1 for code, out, err in said.values()), said
    assert "refused (422): policy: policy.class must be 'module:Class', got 'nowhere'" in said["refused"][2]
    assert "pass --admin-key or set LUTHIEN_ADMIN_KEY" in said["no key"][2]
    assert "cannot read" in said["no file"][2]
    assert "cannot reach the control plane at http://127.0.0.1:9" in said["no server"][2]
    assert services.pipeline.policies.current.version == version


async def test_a_watched_policy_file_reloads_when_it_changes(
    backend: Backend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(policy_sync, "WATCH_INTERVAL_S", 0.05)
    path = tmp_path / "policy.yaml"
    path.write_text(NOOP)
    settings = backend.settings(policy_config=path, policy_config_explicit=True, policy_watch=True)
    services = await ControlPlaneServices.open(settings)
    try:
        assert services.pipeline.policies.current.name == "NoOpPolicy"
        path.write_text("policy: [broken")  # refused: the running policy stays, the error is kept
        await eventually(lambda: _async(services.policy_sync.last_error), timeout=5)
        assert "not valid YAML" in str(services.policy_sync.last_error)
        assert services.pipeline.policies.current.name == "NoOpPolicy"
        path.write_text(ALL_CAPS)
        await eventually(lambda: _async(services.pipeline.policies.current.name == "caps"), timeout=5)
        stored = await services.policy_sync.latest()
        assert stored is not None and (stored.yaml, stored.source) == (ALL_CAPS, "file")
    finally:
        await services.close()


async def _async(value: Any) -> Any:
    return value


async def test_the_litellm_link_hears_each_policy_change(
    served: tuple[ControlPlaneServices, str, httpx.AsyncClient],
) -> None:
    _, address, client = served
    async with connect(f"ws://{address}/api/link") as link:
        hello = orjson.loads(await link.recv())
        assert (hello["type"], hello["policed"]) == ("POLICY", [])
        assert (await client.put("/api/policy", content=ALL_CAPS, headers=AUTH)).status_code == 200
        changed = orjson.loads(await asyncio.wait_for(link.recv(), 5))  # on the same link
    assert (changed["type"], changed["policy"]) == ("POLICY", "caps")
    assert "async_post_call_success_hook" in changed["policed"] and changed["version"] != hello["version"]


async def test_a_litellm_call_routed_by_key_on_one_instance_streams_on_its_policy_on_another(
    postgres_url: str,
) -> None:
    backend = Backend("server", postgres_url, REDIS_URL)
    routed = (
        f"# routed across instances {uuid.uuid4()}\n"
        'policies: {loud: {class: "luthien_proxy.policies.all_caps:AllCapsPolicy"},'
        ' quiet: {class: "luthien_proxy.policies.noop:NoOpPolicy"}}\n'
        "routes: [{name: ci, when: {key: ci-bot}, policy: loud}]\ndefault: quiet\n"
    )
    first = await ControlPlaneServices.open(backend.settings(), policy=parse_policy_set(routed))
    second = await ControlPlaneServices.open(backend.settings(), policy=parse_policy_set(routed))
    call_id = f"across-{uuid.uuid4()}"
    try:
        async with _served(first) as (_, client_a), _served(second) as (address_b, _):
            request = {
                "model": "demo-echo",
                "messages": [{"role": "user", "content": "hi"}],
                "litellm_call_id": call_id,
            }
            body = {"litellm_call_id": call_id, "data": request, "user_api_key_dict": {"key_alias": "ci-bot"}}
            assert (await client_a.post("/api/hooks/async_pre_call_hook", json=body)).status_code == 200
            # The stream reaches the other instance, without the key: the choice made on the first holds.
            await eventually(lambda: second.policy_state.get(f"call-policy:{call_id}"))
            async with chunk_stream(address_b, call_id, "trace-across") as stream:
                await stream.send("quiet words")
                assert (await stream.end()).text == "QUIET WORDS"
    finally:
        await first.close()
        await second.close()
