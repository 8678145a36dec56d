"""End to end, OpenAI Responses API: the openai SDK -> LiteLLM's own `/v1/responses` (our config and
callback) -> demo upstream, policed by the fake control plane. Both of LiteLLM's paths are driven: an
`openai/` model (`demo-echo`: LiteLLM calls the upstream's `/responses`) and an `anthropic/` one
(`demo-agent`: its Responses-to-chat bridge, then the upstream's Messages API)."""

from __future__ import annotations

from typing import Any

import httpx
import openai
import pytest
from openai.types.responses import Response

from tests.proxy.fake_control_plane import FakeControlPlane
from tests.proxy.litellm_proxy import MASTER_KEY, UPSTREAM_KEY, openai_client

pytestmark = pytest.mark.e2e
CP = tuple[FakeControlPlane, str]


def _ask(client: openai.OpenAI, model: str, text: str, *, stream: bool, **extra: Any) -> Response:
    """One call, streamed (the SDK assembles the events: `get_final_response`) or not."""
    if stream:
        with client.responses.stream(model=model, input=text, **extra) as events:
            return events.get_final_response()
    return client.responses.create(model=model, input=text, **extra)


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
@pytest.mark.parametrize("model", ["demo-echo", "demo-agent"])
def test_responses_are_policed_and_name_their_dialect(
    proxy_url: str, control_plane: CP, model: str, stream: bool
) -> None:
    fake, _ = control_plane
    seen = len(fake.hook_bodies), len(fake.ws_messages)
    with openai_client(proxy_url) as client:
        reply = _ask(client, model, "rewrite-me", stream=stream)
    assert reply.output_text == "You said: rewritten", "the pre-call edit reached the upstream"
    assert reply.status == "completed"
    hooks = fake.hook_bodies[seen[0] :]
    assert {hook for hook, _ in hooks} >= {"async_pre_call_hook", "async_moderation_hook"}
    assert all(body["luthien_dialect"] == "openai_responses" for _, body in hooks)
    if stream:
        start, *rest = [m for m in fake.ws_messages[seen[1] :] if m["type"] in ("START", "CHUNK")]
        assert start["type"] == "START" and start["luthien_dialect"] == "openai_responses"
        assert [c["data"]["type"] for c in rest][:1] == ["response.created"], "CHUNK data are events"
        assert rest[-1]["data"]["type"] == "response.completed"
    else:
        [success] = [b for h, b in hooks if h == "async_post_call_success_hook"]
        assert success["response"]["object"] == "response" and success["response"]["output"]


@pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])
def test_a_rejection_is_an_openai_403(proxy_url: str, stream: bool) -> None:
    with openai_client(proxy_url) as client, pytest.raises(openai.PermissionDeniedError) as info:
        _ask(client, "demo-echo", "tell me something forbidden", stream=stream)
    assert info.value.status_code == 403 and "forbidden topic" in info.value.message


@pytest.mark.parametrize(
    ("prompt", "says"), [("stream-error", "policy crashed"), ("stream-reject", "blocked")]
)
def test_a_policy_failure_mid_stream_is_an_error_the_sdk_raises_then_response_failed(
    proxy_url: str, prompt: str, says: str
) -> None:
    """After the first event the client gets the OpenAI error frame (the SDK raises it) and then
    LiteLLM's `response.failed` (what Codex reads); nothing unpoliced in between."""
    received: list[str] = []
    with (
        openai_client(proxy_url) as client,
        pytest.raises(openai.APIError, match=says),
        client.responses.stream(model="demo-long", input=f"{prompt} please") as events,
    ):
        received.extend(event.type for event in events)
    assert received == ["response.created"]
    body = {"model": "demo-long", "input": f"{prompt} please", "stream": True}
    headers = {"authorization": f"Bearer {MASTER_KEY}"}
    raw = httpx.post(proxy_url + "/v1/responses", json=body, headers=headers, timeout=30).text
    frames = [frame for frame in raw.split("\n\n") if frame]
    assert frames[0].startswith('data: {"type":"response.created"')
    assert frames[1].startswith('data: {"error":') and says in frames[1]
    assert frames[2].startswith("event: response.failed\n") and frames[3] == "data: [DONE]"
    assert len(frames) == 4


# An upstream error's status (the policy plays no part) is checked once, through the real control
# plane: tests/e2e/test_litellm_responses.py.
def test_a_codex_session_is_one_trace(proxy_url: str, control_plane: CP) -> None:
    """LiteLLM makes Codex's `session-id` header the trace when the user agent is Codex's."""
    fake, _ = control_plane
    session = "019a2b3c-4d5e-7f60-8a9b-0c1d2e3f4a5b"
    headers = {"session-id": session, "user-agent": "codex_exec/0.169.0 (Debian 12.0.0; x86_64)"}
    seen = len(fake.hook_bodies)
    with openai_client(proxy_url) as client:
        for _ in range(2):
            _ask(client, "demo-echo", "hello", stream=True, extra_headers=headers)
    traces = [b["litellm_trace_id"] for h, b in fake.hook_bodies[seen:] if h == "async_pre_call_hook"]
    assert traces == [session, session]


def test_no_secret_reaches_control_plane_from_a_responses_call(proxy_url: str, control_plane: CP) -> None:
    fake, _ = control_plane
    with openai_client(proxy_url) as client:
        _ask(client, "demo-echo", "hi", stream=False)
        _ask(client, "demo-agent", "hi", stream=True)
    wire = b"".join(fake.raw_bodies) + repr(fake.ws_messages).encode()
    assert MASTER_KEY.encode() not in wire
    assert UPSTREAM_KEY.encode() not in wire
