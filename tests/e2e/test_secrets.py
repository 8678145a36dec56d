"""No client key, provider key or LiteLLM secret ever lands in debug_logs, Redis traffic or logs —
checked by pushing known secrets through both front doors on both backends and searching — and
what reaches the upstream is what the client sent (with the policy's edits), redaction or not."""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest
import yaml
from sqlalchemy import text

from luthien_proxy.control_plane import create_app
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.tooling.stack.processes import free_port
from luthien_proxy.tooling.stack.running import luthien_up as stack_up
from tests.conftest import REDIS_URL, OpenServices, require_servers
from tests.core.test_redaction import RESPONSE_FORMAT, TOOLS
from tests.e2e.stack import REPO, RunningStack
from tests.proxy.fake_control_plane import ThreadedServer
from tests.support.capture_upstream import CaptureUpstream
from tests.support.edit_policy import SUFFIX, EditsLastMessage
from tests.support.live_server import serve_app

pytestmark = pytest.mark.e2e

UPSTREAM_KEY = f"sk-upstream-{secrets.token_hex(10)}"


@pytest.fixture(scope="module")
def capture() -> Iterator[tuple[CaptureUpstream, str]]:
    upstream = CaptureUpstream()
    with ThreadedServer(upstream.app, free_port()) as server:
        yield upstream, server.url


def _litellm_config(workdir: Path, capture_url: str) -> Path:
    """The shipped config plus `capture` and `capture-error`, served by the capture upstream."""
    config = yaml.safe_load((REPO / "config" / "litellm_config.yaml").read_text())
    params = {"api_base": f"{capture_url}/v1", "api_key": UPSTREAM_KEY}
    config["model_list"] += [
        {"model_name": name, "litellm_params": {"model": f"openai/{name}", **params}}
        for name in ("capture", "capture-error")
    ]
    path = workdir / "litellm_config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def _exercise(stack: RunningStack, body_secret: str) -> None:
    """Plain and streamed calls through both doors, with the key in Authorization and secrets in the body."""
    for base in (f"{stack.proxy_url}/v1", f"{stack.control_plane_url}/v1"):
        client = openai.OpenAI(base_url=base, api_key=stack.api_key, max_retries=0, timeout=30)
        for stream in (False, True):
            response = client.chat.completions.create(
                model="demo-echo",
                messages=[{"role": "user", "content": "keep my secrets"}],
                stream=stream,
                extra_headers={"x-custom-token": body_secret},
                extra_body={"metadata": {"api_key": body_secret}},
            )
            if stream:
                assert "".join(c.choices[0].delta.content or "" for c in response if c.choices)  # type: ignore[union-attr]
            else:
                assert response.choices[0].message.content  # type: ignore[union-attr]
        # The key in the query string (LiteLLM reads it as a credential) is never stored, and the
        # call gets an answer, not a 500: the LiteLLM door refuses a key in the URL with a 400.
        answer = httpx.post(
            f"{base}/chat/completions?key={stack.api_key}",
            json={"model": "demo-echo", "messages": [{"role": "user", "content": "query key"}]},
            headers={"authorization": f"Bearer {stack.api_key}"},
            timeout=30,
        )
        assert answer.status_code == (400 if base.startswith(stack.proxy_url) else 200), answer.text
        assert stack.api_key not in answer.text


def _forwarded_as_sent(
    stack: RunningStack, upstream: CaptureUpstream, content_secret: str, edited: bool
) -> None:
    """Tools, `response_format` and content (a key pasted in a message included) reach the upstream as
    the client sent them, through both doors, streamed or not; an upstream error that quotes its key
    reaches neither the client nor the records."""
    suffix = SUFFIX if edited else ""
    prompt = f"my key is {content_secret}"
    for door in ("litellm", "native"):
        client = stack.client(door)
        for stream in (False, True):
            upstream.bodies.clear()
            extra: dict[str, Any] = {"vertex_credentials": content_secret} if door == "native" else {}
            response = client.chat.completions.create(
                model="capture",
                messages=[{"role": "user", "content": prompt}],
                tools=TOOLS,  # type: ignore[arg-type]
                response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
                stream=stream,
                extra_body=extra,
            )
            if stream:
                list(response)  # type: ignore[arg-type]
            [body] = upstream.bodies
            assert body["tools"] == TOOLS, (door, stream)
            assert body["response_format"] == RESPONSE_FORMAT, (door, stream)
            assert body["messages"][-1]["content"] == prompt + suffix, (door, stream)
        with pytest.raises(openai.APIStatusError) as failed:
            client.chat.completions.create(model="capture-error", messages=[{"role": "user", "content": "x"}])
        assert UPSTREAM_KEY not in str(failed.value.body), door


def _logs(workdir: Path) -> str:
    return "\n".join(p.read_text(errors="replace") for p in (workdir / ".luthien" / "logs").glob("*.log"))


def test_embedded_stack_keeps_secrets_out(tmp_path: Path, capture: tuple[CaptureUpstream, str]) -> None:
    client_key = f"sk-secret-client-{secrets.token_hex(8)}"
    body_secret = f"sk-secret-body-{secrets.token_hex(8)}"
    content_secret = f"sk-proj-{secrets.token_hex(12)}"
    upstream, url = capture
    policy = REPO / "config" / "all_caps.yaml"
    env = {"LITELLM_MASTER_KEY": client_key}
    with stack_up(tmp_path, policy, _litellm_config(tmp_path, url), env) as stack:
        _exercise(stack, body_secret)
        _forwarded_as_sent(stack, upstream, content_secret, edited=False)
        stack.stop()
        console = stack.output()
    with sqlite3.connect(tmp_path / ".luthien" / "luthien.db") as db:
        rows = [row[0] for row in db.execute("SELECT jsonblob FROM debug_logs")]
    assert len(rows) > 20, "the calls were recorded"
    assert [row for row in rows if '"password"' in row], "a tool's parameter names are recorded as sent"
    for secret in (client_key, body_secret, content_secret, UPSTREAM_KEY):
        assert not [row for row in rows if secret in row]
        assert secret not in _logs(tmp_path)
    assert body_secret not in console


def test_server_stack_keeps_secrets_out_of_postgres_and_redis(
    tmp_path: Path, postgres_url: str, capture: tuple[CaptureUpstream, str]
) -> None:
    require_servers()
    client_key = f"sk-secret-client-{secrets.token_hex(8)}"
    body_secret = f"sk-secret-body-{secrets.token_hex(8)}"
    content_secret = f"sk-proj-{secrets.token_hex(12)}"
    upstream, url = capture
    policy = tmp_path / "edit.yaml"
    policy.write_text('policy:\n  class: "tests.support.edit_policy:EditsLastMessage"\n  config: {}\n')
    monitor_log = tmp_path / "redis-monitor.log"
    with monitor_log.open("wb") as out:
        monitor = subprocess.Popen(["redis-cli", "-h", "127.0.0.1", "-p", "6379", "monitor"], stdout=out)
    try:
        env = {
            "LITELLM_MASTER_KEY": client_key,
            "DATABASE_URL": postgres_url,
            "REDIS_URL": REDIS_URL,
            # The control plane loads the test's policy (and this checkout's package, first).
            "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO)]),
        }
        with stack_up(tmp_path, policy, _litellm_config(tmp_path, url), env) as stack:
            _exercise(stack, body_secret)
            _forwarded_as_sent(stack, upstream, content_secret, edited=True)
            stack.stop()
    finally:
        monitor.terminate()
        monitor.wait(10)
    traffic = monitor_log.read_text(errors="replace")
    assert "luthien:conversation:" in traffic, "the monitor saw the events being published"
    rows = asyncio.run(_postgres_rows(postgres_url))
    assert len(rows) > 20
    for secret in (client_key, body_secret, content_secret, UPSTREAM_KEY):
        assert secret not in traffic
        assert not [row for row in rows if secret in row]
        assert secret not in _logs(tmp_path)


async def _postgres_rows(url: str) -> list[str]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return [row[0] for row in await conn.fetch("SELECT jsonblob::text FROM debug_logs")]
    finally:
        await conn.close()


async def test_native_door_policy_sees_and_forwards_the_original_records_the_redacted(
    open_services: OpenServices,
) -> None:
    """In process, with the policy's own view checked: the stream's policy gets the request as sent."""
    key = f"upstream-key-{secrets.token_hex(8)}"  # no key shape: the native door knows its own key
    content_secret = f"sk-proj-{secrets.token_hex(12)}"
    policy = EditsLastMessage()
    services = await open_services(policy, client_key="sk-native-client-key")
    upstream = CaptureUpstream()
    async with serve_app(upstream.app) as address:  # type: ignore[arg-type]
        params = {"api_base": f"http://{address}/v1", "api_key": key}
        services.model_routes = routes_from_config(
            {
                "model_list": [
                    {"model_name": name, "litellm_params": {"model": f"openai/{name}", **params}}
                    for name in ("capture", "capture-error")
                ]
            }
        )
        async with serve_app(create_app(services.settings, services)) as door:
            client = openai.AsyncOpenAI(
                base_url=f"http://{door}/v1", api_key="sk-native-client-key", max_retries=0
            )
            async with client:
                for stream in (False, True):
                    response = await client.chat.completions.create(
                        model="capture",
                        messages=[{"role": "user", "content": content_secret}],
                        tools=TOOLS,  # type: ignore[arg-type]
                        response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
                        stream=stream,
                    )
                    if stream:
                        _ = [chunk async for chunk in response]  # type: ignore[union-attr]
                    body = upstream.bodies[-1]
                    assert (body["tools"], body["response_format"]) == (TOOLS, RESPONSE_FORMAT)
                    assert body["messages"] == [{"role": "user", "content": content_secret + SUFFIX}]
                with pytest.raises(openai.AuthenticationError) as failed:
                    await client.chat.completions.create(
                        model="capture-error", messages=[{"role": "user", "content": "x"}]
                    )
    assert key not in str(failed.value.body) and "[REDACTED]" in str(failed.value.body)
    [seen] = policy.stream_requests
    assert seen["tools"] == TOOLS and seen["messages"][-1]["content"] == content_secret + SUFFIX
    await services.writer.flush()
    async with services.store.engine.connect() as conn:
        rows = [str(row[0]) for row in await conn.execute(text("SELECT jsonblob FROM debug_logs"))]
    assert len(rows) > 6
    assert not [row for row in rows if content_secret in row or key in row]
    assert [row for row in rows if "access_token" in row], "content names are recorded as sent"
