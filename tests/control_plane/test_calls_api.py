"""The call index's API from real calls, on both backends: one outcome per call, paging, filters,
the history search and its JSON Lines exports, the calls still running, the live stream of starts
and summaries; and `/`, `/docs` offline."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from luthien_proxy.pipeline.call_summary import OUTCOMES
from tests.conftest import OpenServices, api_client
from tests.support.native_traffic import (
    BLOCKED,
    BLOCKED_COMMAND,
    KEY,
    MODIFIED,
    PASSED,
    REJECTED,
    NativeDoor,
    native_door,
)
from tests.support.sse_client import sse_items
from tests.ui.traffic import REJECTION_MESSAGE, chunk_stream, pre_call


@pytest.fixture
async def door(open_services: OpenServices) -> AsyncIterator[NativeDoor]:
    async with native_door(open_services, sse_heartbeat_seconds=0.2) as started:
        yield started


async def _calls(door: NativeDoor, **params: Any) -> dict[str, Any]:
    found = await door.client.get("/api/calls", params=params)
    assert found.status_code == 200, found.text
    return found.json()


async def test_real_calls_are_listed_newest_first_with_one_outcome_paged_filtered(door: NativeDoor) -> None:
    passed = await door.ask(PASSED, trace_id="session-1")
    modified = await door.ask(MODIFIED, trace_id="session-1")
    rejected = await door.ask(REJECTED, trace_id="session-2")
    blocked = await door.ask(BLOCKED, trace_id="session-2")
    calls = await door.listed(passed, modified, rejected, blocked)

    assert [c["call_id"] for c in calls] == [blocked, rejected, modified, passed]
    by_id = {c["call_id"]: c for c in calls}
    outcomes = {call_id: by_id[call_id]["outcome"] for call_id in by_id}
    assert outcomes == {passed: "passed", modified: "modified", rejected: "rejected", blocked: "blocked"}
    assert all(c["outcome_label"] == OUTCOMES[c["outcome"]] for c in calls)
    # A call refused before the model was called still started: its door and model are known.
    answered = [by_id[call_id] for call_id in (passed, modified, rejected, blocked)]
    doors = {(c["door"], c["dialect"], c["model"]) for c in answered}
    assert doors == {("native", "openai_chat", "demo-agent")}
    assert all(c["latency_ms"] is not None and c["latency_ms"] >= 0 for c in answered)
    assert by_id[modified]["response_preview"] == "You said: what is a cat?"
    assert by_id[passed]["response_preview"] == "You said: hello there"
    assert by_id[passed]["decision"] == ""
    assert REJECTION_MESSAGE in by_id[rejected]["decision"] + str(by_id[rejected]["error"])
    # The decision in words names the tool and the command it stopped, and the rule's reason.
    stopped = by_id[blocked]
    assert stopped["decision"].startswith(f"blocked Bash: {BLOCKED_COMMAND}")
    assert stopped["decision"].endswith("touches ~/.ssh")
    assert (stopped["tool_calls"], stopped["max_score"]) == (["Bash"], 1.0)
    assert stopped["request_preview"] == BLOCKED
    assert "blocked by a safety rule" in stopped["response_preview"]

    first = await _calls(door, limit=3)
    assert [c["call_id"] for c in first["calls"]] == [blocked, rejected, modified]
    assert first["running"] == []
    assert first["next"] == first["calls"][-1]["id"]
    older = await _calls(door, limit=3, before=first["next"])
    assert ([c["call_id"] for c in older["calls"]], older["next"]) == ([passed], None)
    assert "running" not in older, "only the first page lists the running calls"

    async def ids(**params: Any) -> list[str]:
        return [c["call_id"] for c in (await _calls(door, **params))["calls"]]

    assert await ids(outcome="blocked") == [blocked]
    assert await ids(outcome="passed", trace_id="session-1") == [passed]
    assert await ids(trace_id="session-2") == [blocked, rejected]
    assert await ids(model="demo-agent") == [blocked, rejected, modified, passed]
    assert await ids(model="demo-echo") == []
    too_far = await door.client.get("/api/calls", params={"before": 2**63})  # found by the fuzz test
    assert too_far.status_code == 422, too_far.text
    unknown = await door.client.get("/api/calls", params={"outcome": "success"})
    assert unknown.status_code == 422
    assert "unknown outcome 'success'" in unknown.json()["detail"]
    assert (await door.client.get("/api/outcomes")).json() == {"outcomes": OUTCOMES}


async def test_a_call_whose_stream_is_open_is_running_and_the_stream_announces_it(door: NativeDoor) -> None:
    async with door.client.stream("GET", "/api/calls/stream") as live:
        items = sse_items(live)
        assert await anext(items) == ("comment", "connected")  # subscribed: nothing after is missed

        async def next_event() -> dict[str, Any]:
            async for kind, value in items:
                if kind == "data":
                    return value
            raise AssertionError("the stream ended")

        await pre_call(door.client, "open-call", "open-session", "stream me a story")
        async with chunk_stream(door.address, "open-call", "open-session") as stream:
            await stream.send("Once upon ")
            started = await next_event()
            assert started["type"] == "call_started"
            assert (started["call"]["call_id"], started["call"]["outcome"]) == ("open-call", "in_progress")
            await door.services.writer.flush()
            running = (await _calls(door))["running"]
            assert [(c["call_id"], c["outcome"], c["door"]) for c in running] == [
                ("open-call", "in_progress", "litellm")
            ]
            in_session = (await _calls(door, trace_id="open-session"))["running"]
            assert [c["call_id"] for c in in_session] == ["open-call"]
            assert (await _calls(door, trace_id="another-session"))["running"] == []
            assert "running" not in await _calls(door, outcome="passed")
            await stream.end()
        summary = await next_event()

    assert summary["type"] == "call_summary"
    ended = summary["call"]
    # UiTestPolicy upper-cases a stream: the client got other text than the model wrote.
    assert (ended["call_id"], ended["outcome"], ended["streamed"]) == ("open-call", "modified", True)
    assert ended["response_preview"] == "ONCE UPON"
    listed = await door.listed("open-call")
    assert {k: v for k, v in listed[0].items() if k != "id"} == ended
    assert (await _calls(door))["running"] == []


@pytest.mark.parametrize("backend", ["embedded"], indirect=True)
async def test_the_root_leads_to_the_ui_and_the_api_docs_need_no_network(open_services: OpenServices) -> None:
    async with api_client(await open_services()) as client:
        root = await client.get("/")
        assert (root.status_code, root.headers["location"]) == (307, "/ui")
        docs = await client.get("/docs")
        assert docs.status_code == 200
        assert "/docs/static/swagger-ui-bundle.js" in docs.text
        assert "/openapi.json" in docs.text
        assert "https://" not in docs.text and "http://" not in docs.text, "nothing from a CDN"
        script = await client.get("/docs/static/swagger-ui-bundle.js")
        assert script.status_code == 200
        assert "SwaggerUIBundle" in script.text
        assert (await client.get("/docs/static/swagger-ui.css")).status_code == 200
        assert (await client.get("/docs/static/package.json")).status_code == 404
        assert "/api/calls" in (await client.get("/openapi.json")).json()["paths"]


async def test_search_pages_refuses_bad_params_and_exports_jsonl(door: NativeDoor) -> None:
    passed = await door.ask(PASSED, trace_id="search-1")
    blocked = await door.ask(BLOCKED, trace_id="search-2")
    rejected = await door.ask(REJECTED, trace_id="search-2")
    calls = {c["call_id"]: c for c in await door.listed(passed, blocked, rejected)}
    assert calls[blocked]["actions"] == ["block"]

    async def ids(**params: Any) -> list[str]:
        return [c["call_id"] for c in (await _calls(door, **params))["calls"]]

    assert await ids(q="SSH id_rsa") == [blocked], "the decision's words and the request preview"
    assert await ids(q="hello") == [passed]
    assert await ids(action="block") == [blocked]
    assert await ids(action="reject") == [rejected]
    between = (calls[passed]["completed_at"] + calls[blocked]["started_at"]) / 2  # the calls ran in turn
    assert await ids(since=between) == [rejected, blocked], "epoch seconds are a time too"
    assert await ids(until=datetime.fromtimestamp(between, UTC).isoformat()) == [passed]
    assert "running" not in await _calls(door, q="hello"), "a search lists finished calls"
    first = await _calls(door, q="you", limit=1)  # "You said" is in two answers, and the block's words
    older = await _calls(door, q="you", limit=1, before=first["next"])
    assert [c["call_id"] for c in first["calls"] + older["calls"]] == await ids(q="you", limit=2)

    for params, message in [
        ({"q": "  "}, "q is blank"),
        ({"action": "DROP TABLE"}, "not an action name"),
        ({"since": "yesterday"}, "valid datetime"),
        ({"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"}, "must be before until"),
        ({"key": "x" * 300}, "at most 256 characters"),
        ({"q": "a\x00b"}, "q contains a NUL character"),
    ]:
        refused = await door.client.get("/api/calls", params=params)
        assert refused.status_code == 422, (params, refused.text)
        assert message in refused.text, (params, refused.text)
    assert (await door.client.get("/api/calls/export", params={"format": "csv"})).status_code == 422

    exported = await door.client.get("/api/calls/export", params={"format": "jsonl", "trace_id": "search-2"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in exported.text.splitlines()]
    assert exported.text.endswith("\n")
    assert [c["call_id"] for c in lines] == [rejected, blocked]
    assert lines == (await _calls(door, trace_id="search-2"))["calls"], "the listing's summaries"

    trace = await door.client.get("/api/traces/export", params={"trace_id": "search-2"})
    assert trace.status_code == 200
    records = [json.loads(line) for line in trace.text.splitlines()]
    assert {r["jsonblob"]["litellm_call_id"] for r in records} == {blocked, rejected}
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)
    assert "call:summary" in {r["debug_type_identifier"] for r in records}
    assert KEY not in trace.text, "no key in an export"
    nul = await door.client.get("/api/traces/export", params={"trace_id": "a\x00b"})
    assert (nul.status_code, nul.json()["detail"]) == (422, "trace_id contains a NUL character")
    missing = await door.client.get("/api/traces/export", params={"trace_id": "no-such-trace"})
    assert (missing.status_code, missing.json()["detail"]) == (404, "no records for trace 'no-such-trace'")
