"""A record the database cannot take never stops recording: NUL is repaired the same way on both
backends, a refused record is set aside (its ids kept, its content never logged), the records
behind it are written, and `/health` says records are failing."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Sequence

import pytest
from sqlalchemy import exc as sa_exc

from luthien_proxy.backends.store import DebugLogStore, DebugLogWriter, DebugRecord, rejects
from luthien_proxy.control_plane import create_app
from luthien_proxy.model_routes import routes_from_config
from luthien_proxy.tooling.demo_upstream import create_app as create_demo_upstream
from tests.conftest import Backend, OpenServices, api_client
from tests.support.live_server import serve_app


async def _flushed(writer: DebugLogWriter) -> None:
    # Before the fix a poison record made the writer retry forever: fail instead of hanging.
    await asyncio.wait_for(writer.flush(), timeout=20)


async def test_nul_is_replaced_the_same_way_on_both_backends(open_services: OpenServices) -> None:
    services = await open_services()
    writer = services.writer
    writer.record(
        "hook:nul", {"litellm_call_id": "nul", "prompt": "a\x00b", "k\x00": ["\x00"], "text": "\\u0000"}
    )
    writer.record("hook:nul", {"litellm_call_id": "nul", "after": True})
    await _flushed(writer)
    first, second = await services.store.by_call_id("nul")
    assert first.jsonblob["prompt"] == "a\ufffdb"
    assert first.jsonblob["k\ufffd"] == ["\ufffd"]
    assert first.jsonblob["text"] == "\\u0000", "a literal backslash-u0000 typed by a client is kept"
    assert second.jsonblob["after"] is True
    assert writer.set_aside == 0 and writer.status()["failing"] is False


class _RefusingStore:
    """The real store, except that the database refuses any batch holding `poison` as Postgres
    does: an error whose `str()` quotes the statement's parameters (the prompt)."""

    def __init__(self, store: DebugLogStore, poison: str) -> None:
        self.store = store
        self.poison = poison

    async def ping(self) -> None:
        await self.store.ping()

    async def insert_many(self, records: Sequence[DebugRecord]) -> None:
        if any(self.poison in str(r.jsonblob) for r in records):
            params = [(r.debug_type_identifier, r.jsonblob) for r in records]
            raise sa_exc.DataError("INSERT INTO debug_logs ...", params, ValueError("refused"))
        await self.store.insert_many(records)


async def test_a_refused_record_is_set_aside_and_the_rest_are_written(
    open_services: OpenServices, caplog: pytest.LogCaptureFixture
) -> None:
    services = await open_services()
    poison = f"poison-prompt-{secrets.token_hex(6)}"
    writer = DebugLogWriter(_RefusingStore(services.store, poison), batch_size=10)  # type: ignore[arg-type]
    writer.start()
    with caplog.at_level(logging.INFO):
        for i in range(3):
            writer.record("hook:batch", {"litellm_call_id": "batch", "i": i})
        writer.record("hook:batch", {"litellm_call_id": "batch", "litellm_trace_id": "t", "prompt": poison})
        writer.record("hook:batch", {"litellm_call_id": "batch", "i": 3})
        await _flushed(writer)
        await writer.close()
    rows = await services.store.by_call_id("batch")
    assert [r.jsonblob.get("i") for r in rows] == [0, 1, 2, None, 3]
    assert rows[3].jsonblob == {
        "litellm_call_id": "batch",
        "litellm_trace_id": "t",
        "hook": None,
        "set_aside": {"debug_type": "hook:batch", "error": "DataError"},
    }
    assert writer.set_aside == 1 and writer.written == 4
    assert writer.status()["failing"] is True
    assert "set aside" in caplog.text
    assert poison not in caplog.text


@pytest.mark.parametrize("backend", ["server"], indirect=True)  # SQLite stores NUL: nothing to refuse
async def test_postgres_refusal_is_set_aside_not_retried_forever(
    open_services: OpenServices, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the repair to miss something, Postgres's own refusal is handled the same way."""
    assert backend.name == "server"
    services = await open_services()
    monkeypatch.setattr(rejects, "without_nul", lambda value: value)  # the repair, switched off
    services.writer.record("hook:raw", {"litellm_call_id": "raw", "prompt": "a\x00b"})
    services.writer.record("hook:raw", {"litellm_call_id": "raw", "after": True})
    await _flushed(services.writer)
    first, second = await services.store.by_call_id("raw")
    assert first.jsonblob["set_aside"]["error"] == "UntranslatableCharacterError (SQLSTATE 22P05)"
    assert second.jsonblob["after"] is True


async def test_a_nul_prompt_through_the_native_door_does_not_stop_recording(
    open_services: OpenServices, caplog: pytest.LogCaptureFixture
) -> None:
    import openai

    key = "sk-native-nul-test"
    services = await open_services(client_key=key)
    prompt = f"nul-prompt-{secrets.token_hex(6)}\x00 after the NUL"
    async with serve_app(create_demo_upstream()) as upstream:  # type: ignore[arg-type]
        model = {"model": "openai/demo-echo", "api_base": f"http://{upstream}/v1", "api_key": "x"}
        services.model_routes = routes_from_config(
            {"model_list": [{"model_name": "demo-echo", "litellm_params": model}]}
        )
        async with serve_app(create_app(services.settings, services)) as address:
            client = openai.AsyncOpenAI(base_url=f"http://{address}/v1", api_key=key, max_retries=0)
            async with client:
                with caplog.at_level(logging.INFO):
                    poisoned = await client.chat.completions.with_raw_response.create(
                        model="demo-echo", messages=[{"role": "user", "content": prompt}]
                    )
                    later = await client.chat.completions.with_raw_response.create(
                        model="demo-echo", messages=[{"role": "user", "content": "a later call"}]
                    )
                    await _flushed(services.writer)
    for response in (poisoned, later):
        assert await services.store.by_call_id(response.headers["x-litellm-call-id"])
    [pre_call] = [
        r
        for r in await services.store.by_call_id(poisoned.headers["x-litellm-call-id"])
        if r.debug_type_identifier == "hook:async_pre_call_hook"
    ]
    assert pre_call.jsonblob["payload"]["data"]["messages"][0]["content"] == prompt.replace("\x00", "\ufffd")
    async with api_client(services) as http:
        health = (await http.get("/health")).json()
    assert health["status"] == "ok" and health["write_queue"]["set_aside"] == 0
    assert prompt.split("\x00")[0] not in caplog.text
