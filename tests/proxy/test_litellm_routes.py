"""Every route LiteLLM serves is policed, served (no model call) or refused, and the gate enforces it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, WebSocket

from luthien_proxy.doors.litellm.callback.litellm_routes import Verdict, classify
from luthien_proxy.doors.litellm.callback.route_gate import RouteGate
from luthien_proxy.tooling.stack.processes import child_env

REPO = Path(__file__).resolve().parents[2]
POLICED_PATHS = {
    "/v1/chat/completions",
    "/chat/completions",
    "/engines/{model:path}/chat/completions",
    "/openai/deployments/{model:path}/chat/completions",
    "/v1/messages",
    # The Claude Code gateway's copy of the same handler (its OAuth and telemetry routes are refused).
    "/claude_code_gateway/v1/messages",
    # Creating a response (the Responses API's other routes, below, stay refused).
    "/v1/responses",
    "/responses",
    "/openai/v1/responses",
}
#: No model output on a client's behalf: counted, or a stub.
SERVED_ANTHROPIC = [
    ("POST", "/v1/messages/count_tokens"),
    ("POST", "/api/event_logging/batch"),
]
# The model-calling dialects the issue names, one route each; all must be refused.
MODEL_ROUTES = [
    ("POST", "/v1/completions"),
    ("POST", "/openai/deployments/{model:path}/completions"),
    # A stored response read, listed, compacted or cancelled, its token count, the Responses socket.
    ("GET", "/v1/responses/{response_id}"),
    ("GET", "/v1/responses/{response_id}/input_items"),
    ("POST", "/v1/responses/compact"),
    ("POST", "/v1/responses/{response_id}/cancel"),
    ("DELETE", "/v1/responses/{response_id}"),
    ("POST", "/v1/responses/input_tokens"),
    ("WEBSOCKET", "/v1/responses"),
    ("POST", "/cursor/chat/completions"),
    ("POST", "/v1/embeddings"),
    ("POST", "/v1/moderations"),
    ("POST", "/v1/images/generations"),
    ("POST", "/v1/audio/speech"),
    ("POST", "/v1/audio/transcriptions"),
    ("POST", "/v1/rerank"),
    ("POST", "/v1/batches"),
    ("POST", "/v1/files"),
    ("POST", "/v1/assistants"),
    ("POST", "/v1/threads/{thread_id}/runs"),
    ("POST", "/anthropic/{endpoint:path}"),
    ("POST", "/claude_code_gateway/oauth/token"),
    ("POST", "/v1/skills"),
    ("POST", "/openai_passthrough/{endpoint:path}"),
    ("POST", "/v1beta/models/{model_name:path}:generateContent"),
    ("POST", "/health/test_connection"),
    ("WEBSOCKET", "/v1/realtime"),
]


@pytest.fixture(scope="module")
def routes() -> list[dict[str, Any]]:
    """The complete route table of the real LiteLLM app (every lazy feature loaded), in a child."""
    out = subprocess.run(
        [sys.executable, "-m", "tests.proxy.route_inventory"],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        check=True,
        timeout=300,
    ).stdout
    return orjson.loads(out)


def test_every_litellm_route_is_classified(routes: list[dict[str, Any]]) -> None:
    """Fails when LiteLLM gains a route: classify it in doors/litellm/callback/litellm_routes.py."""
    assert len(routes) > 900, "the inventory must see the whole table, lazy features included"
    unclassified = [f"{r['methods']} {r['path']} -> {r['key']}" for r in routes if r["verdict"] is None]
    assert not unclassified, "LiteLLM routes Luthien has not classified:\n" + "\n".join(unclassified)


def test_only_the_chat_messages_and_responses_dialects_are_policed_and_every_other_model_route_is_refused(
    routes: list[dict[str, Any]],
) -> None:
    policed = {r["path"] for r in routes if r["verdict"] == "policed"}
    assert policed == POLICED_PATHS
    verdicts = {
        (m if r["kind"] == "http" else "WEBSOCKET", r["path"]): r["verdict"]
        for r in routes
        for m in r["methods"]
    }
    for route in MODEL_ROUTES:
        assert verdicts.get(route) == "refused", route
    for route in SERVED_ANTHROPIC:
        assert verdicts.get(route) == "served", route


def test_the_gate_judges_each_route_by_its_own_verdict(routes: list[dict[str, Any]]) -> None:
    """For a concrete path of every route, the gate finds that route in LiteLLM's table (no alias or
    path parameter leads a refused route's path to an admitted one)."""
    wrong = [f"{r['path']}: {r['verdict']} but gate {r['gate']}" for r in routes if r["gate"] != r["verdict"]]
    assert not wrong, "\n".join(wrong)


def _endpoint(key: str) -> Callable[..., Any]:
    async def endpoint() -> dict[str, str]:
        return {"ran": key}

    endpoint.__module__, _, endpoint.__qualname__ = key.partition(":")
    return endpoint


def _app() -> FastAPI:
    app = FastAPI()
    app.add_api_route(
        "/v1/chat/completions", _endpoint("litellm.proxy.proxy_server:chat_completion"), methods=["POST"]
    )
    app.add_api_route("/key/list", _endpoint("litellm.proxy.management_endpoints.key_management_endpoints:x"))
    app.add_api_route("/v1/completions", _endpoint("litellm.proxy.proxy_server:completion"), methods=["POST"])
    app.add_api_route("/v1/new-thing", _endpoint("litellm.proxy.brand_new:thing"), methods=["POST"])

    async def realtime(websocket: WebSocket) -> None:
        await websocket.accept()

    realtime.__module__, realtime.__qualname__ = "litellm.proxy.proxy_server", "realtime_websocket_endpoint"
    app.add_api_websocket_route("/v1/realtime", realtime)
    return app


@pytest.mark.asyncio
async def test_the_gate_refuses_refused_and_unclassified_routes_with_a_clear_403() -> None:
    app = _app()
    transport = httpx.ASGITransport(app=RouteGate(app, app))
    async with httpx.AsyncClient(transport=transport, base_url="http://gate") as client:
        assert (await client.post("/v1/chat/completions")).json() == {
            "ran": "litellm.proxy.proxy_server:chat_completion"
        }
        assert (await client.get("/key/list")).status_code == 200
        assert (await client.get("/nowhere")).status_code == 404, "LiteLLM answers unknown paths itself"
        for path, why in (("/v1/completions", "not policed yet"), ("/v1/new-thing", "not classified")):
            refused = await client.post(path)
            assert refused.status_code == 403
            error = refused.json()["error"]
            assert f"POST {path}" in error["message"] and why in error["message"]
            assert error["type"] == "permission_error"


@pytest.mark.asyncio
async def test_the_gate_closes_a_refused_websocket_before_accepting_it() -> None:
    app = _app()
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    await RouteGate(app, app)({"type": "websocket", "path": "/v1/realtime", "headers": []}, receive, send)
    assert sent[0]["type"] == "websocket.close" and sent[0]["code"] == 1008
    assert "/v1/realtime" in sent[0]["reason"]


def test_an_unknown_module_is_unclassified_and_the_chat_endpoint_policed() -> None:
    assert classify("litellm.proxy.brand_new:thing") is None
    assert classify("litellm.proxy.proxy_server:brand_new") is None, "a mixed module is classified by name"
    assert classify("litellm.proxy.proxy_server:chat_completion") is Verdict.POLICED
    anthropic = "litellm.proxy.anthropic_endpoints.endpoints:"
    assert classify(anthropic + "anthropic_response") is Verdict.POLICED
    assert classify(anthropic + "a_route_litellm_adds_later") is Verdict.REFUSED, "its module stays refused"
