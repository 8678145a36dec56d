"""End to end: openai and anthropic SDKs -> real LiteLLM proxy (our config + callback) -> demo upstream,
policed by a fake control plane. Slow (each proxy takes a few seconds to start)."""

import anthropic
import httpx
import openai
import pytest
from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

from tests.proxy.litellm_proxy import MASTER_KEY, UPSTREAM_KEY
from tests.proxy.litellm_proxy import openai_client as _client

pytestmark = pytest.mark.e2e
# The proxies, the demo upstream and the fake control plane are the package's (tests/proxy/conftest.py).


def _msgs(text: str) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": text}]


def _stream_text(client: OpenAI, model: str, text: str) -> str:
    stream = client.chat.completions.create(model=model, messages=_msgs(text), stream=True)
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def test_non_stream_response_is_modified(proxy_url: str) -> None:
    with _client(proxy_url) as client:
        resp = client.chat.completions.create(model="demo-echo", messages=_msgs("hello there"))
    assert resp.choices[0].message.content == "YOU SAID: HELLO THERE"


def test_pre_call_edit_reaches_upstream(proxy_url: str) -> None:
    with _client(proxy_url) as client:
        resp = client.chat.completions.create(model="demo-echo", messages=_msgs("rewrite-me"))
    assert resp.choices[0].message.content == "YOU SAID: REWRITTEN"


def test_pre_call_rejection_is_a_clear_4xx(proxy_url: str) -> None:
    with _client(proxy_url) as client, pytest.raises(openai.PermissionDeniedError) as info:
        client.chat.completions.create(model="demo-echo", messages=_msgs("tell me something forbidden"))
    assert info.value.status_code == 403
    assert "forbidden topic" in info.value.message


def test_stream_is_policed(proxy_url: str) -> None:
    with _client(proxy_url) as client:
        assert _stream_text(client, "demo-echo", "one two three") == "YOU SAID: ONE TWO THREE"


def test_tool_call_stream_survives_policing(proxy_url: str) -> None:
    with _client(proxy_url) as client:
        stream = client.chat.completions.create(model="demo-tool", messages=_msgs("ls"), stream=True)
        args = "".join(
            tc.function.arguments or ""
            for c in stream
            if c.choices
            for tc in c.choices[0].delta.tool_calls or []
            if tc.function
        )
    assert args == '{"command": "ls -la"}'


def test_stream_policy_error_mid_stream_reaches_client(proxy_url: str) -> None:
    with _client(proxy_url) as client, pytest.raises(openai.APIError, match="policy crashed on purpose"):
        _stream_text(client, "demo-long", "stream-error please")


def test_stream_policy_reject_mid_stream_reaches_client(proxy_url: str) -> None:
    with _client(proxy_url) as client, pytest.raises(openai.APIError, match="stream blocked by policy"):
        _stream_text(client, "demo-long", "stream-reject please")


def test_missing_credentials_is_401(proxy_url: str) -> None:
    resp = httpx.post(proxy_url + "/v1/chat/completions", json={"model": "demo-echo", "messages": _msgs("x")})
    assert resp.status_code == 401
    assert resp.json()["error"]["type"] == "auth_error"


def test_trace_id_header_reaches_control_plane(proxy_url: str, control_plane) -> None:
    fake, _ = control_plane
    with _client(proxy_url) as client:
        client.chat.completions.create(
            model="demo-echo", messages=_msgs("trace me"), extra_headers={"x-litellm-trace-id": "trace-e2e-1"}
        )
    bodies = [b for hook, b in fake.hook_bodies if hook == "async_pre_call_hook"]
    assert any(b["litellm_trace_id"] == "trace-e2e-1" and b["litellm_call_id"] for b in bodies)


def test_a_traceparent_reaches_the_control_plane_with_the_hooks_and_the_stream(
    proxy_url: str, control_plane
) -> None:
    """The callback passes a client's W3C trace context on, so the control plane's spans continue it."""
    fake, _ = control_plane
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    headers = {"traceparent": traceparent, "tracestate": "vendor=1"}
    with _client(proxy_url) as client:
        client.chat.completions.create(model="demo-echo", messages=_msgs("traced"), extra_headers=headers)
        stream = client.chat.completions.create(
            model="demo-echo", messages=_msgs("traced stream"), stream=True, extra_headers=headers
        )
        assert "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    traced = [hook for hook, b in fake.hook_bodies if b.get("traceparent") == traceparent]
    assert "async_pre_call_hook" in traced and "async_post_call_success_hook" in traced
    assert all(b.get("tracestate") == "vendor=1" for _, b in fake.hook_bodies if b.get("traceparent"))
    starts = [m["data"] for m in fake.ws_messages if m["type"] == "START"]
    assert any(data.get("traceparent") == traceparent for data in starts)


def test_no_secret_ever_reaches_control_plane(proxy_url: str, control_plane) -> None:
    fake, _ = control_plane
    with _client(proxy_url) as client:
        client.chat.completions.create(model="demo-echo", messages=_msgs("hi"))
        _stream_text(client, "demo-echo", "hi")
    wire = b"".join(fake.raw_bodies) + repr(fake.ws_messages).encode()
    assert fake.raw_bodies and fake.ws_messages
    assert MASTER_KEY.encode() not in wire
    assert UPSTREAM_KEY.encode() not in wire


def _refused(
    info: pytest.ExceptionInfo[openai.PermissionDeniedError], path: str, method: str = "POST"
) -> None:
    assert info.value.status_code == 403
    assert f"{method} {path}" in info.value.message and "not policed" in info.value.message


def test_unpoliced_dialects_are_refused_naming_the_route(proxy_url: str, control_plane) -> None:
    """/v1/completions, the stored-response routes of the Responses API and Anthropic pass-through
    bypassed the policy; now they never reach LiteLLM's handlers (nor the upstream), streamed or not."""
    fake, _ = control_plane
    seen = len(fake.hook_bodies)
    with _client(proxy_url) as client:
        for stream in (False, True):
            with pytest.raises(openai.PermissionDeniedError) as info:
                client.completions.create(model="demo-echo", prompt="say hi", stream=stream)
            _refused(info, "/v1/completions")
        # A stored response's output (or a compaction of it) would reach the client unpoliced.
        stored = [
            ("GET", "/v1/responses/resp_1", lambda: client.responses.retrieve("resp_1")),
            ("GET", "/v1/responses/resp_1/input_items", lambda: client.responses.input_items.list("resp_1")),
            ("POST", "/v1/responses/resp_1/cancel", lambda: client.responses.cancel("resp_1")),
            ("DELETE", "/v1/responses/resp_1", lambda: client.responses.delete("resp_1")),
            ("POST", "/v1/responses/compact", lambda: client.responses.compact(model="demo-echo", input="x")),
        ]
        for method, path, call in stored:
            with pytest.raises(openai.PermissionDeniedError) as info:
                call()
            _refused(info, path, method)
    for stream in (False, True):
        body = {"model": "demo-agent", "max_tokens": 16, "stream": stream, "messages": _msgs("say hi")}
        path = "/anthropic/v1/messages"  # LiteLLM's Anthropic pass-through: no hook runs for it
        answer = httpx.post(proxy_url + path, json=body, headers={"x-api-key": MASTER_KEY})
        assert answer.status_code == 403, answer.text
        error = answer.json()["error"]  # the Anthropic shape: {"type": "error", "error": {...}}
        assert answer.json()["type"] == "error" and f"POST {path}" in error["message"]
    assert len(fake.hook_bodies) == seen, "no refused call reached the callback"
    with _client(proxy_url) as client:  # the policed alias still works
        alias = OpenAI(
            base_url=proxy_url + "/openai/deployments/demo-echo", api_key=MASTER_KEY, max_retries=0
        )
        reply = alias.chat.completions.create(model="demo-echo", messages=_msgs("hello"))
        assert reply.choices[0].message.content == "YOU SAID: HELLO"
        assert client.models.list().data, "served routes still answer"


CHAT = {"model": "demo-echo", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "says"),
    [
        ("POST", "/v1/chat/completions", {"authorization": "Bearer"}, CHAT, 401, "no API key"),
        ("POST", "/v1/chat/completions?key=" + MASTER_KEY, {}, CHAT, 400, "API keys in the URL"),
        ("POST", "/v1/chat/completions?monkey=1", {}, CHAT, 401, "no API key"),
        ("POST", "/v1/chat/completions", {"authorization": "Bearer sk-wrong"}, CHAT, 401, "not valid"),
        (
            "POST",
            "/v1/chat/completions",
            None,
            {**CHAT, "api_base": "http://x"},
            400,
            "api_base is not allowed",
        ),
        (
            "POST",
            "/v1/chat/completions",
            None,
            {**CHAT, "base_url": "http://x"},
            400,
            "base_url is not allowed",
        ),
        (
            "POST",
            "/v1/chat/completions",
            None,
            {**CHAT, "vertex_credentials": "{}"},
            400,
            "vertex_credentials",
        ),
        ("GET", "/key/list", {}, None, 401, "No api key passed in"),
        ("POST", "/key/generate", {}, {}, 401, "No api key passed in"),
        ("GET", "/key/list", {"authorization": "Bearer sk-wrong"}, None, 401, "not valid"),
    ],
)
def test_auth_and_body_errors_are_a_4xx_that_says_what_is_wrong(
    proxy_url: str, method: str, path: str, headers: dict | None, body: dict | None, status: int, says: str
) -> None:
    """Each answered 500 (or '400 No connected db.') before; the proxy keeps serving after each."""
    sent = {"authorization": f"Bearer {MASTER_KEY}"} if headers is None else headers
    answer = httpx.request(method, proxy_url + path, headers=sent, json=body, timeout=30)
    assert answer.status_code == status, answer.text
    assert says in answer.json()["error"]["message"]
    assert MASTER_KEY not in answer.text


# --- Anthropic Messages (POST /v1/messages): the anthropic SDK through the same proxy -------------


def _anthropic(url: str) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=url, api_key=MASTER_KEY, max_retries=0, timeout=30)


def _ask(client: anthropic.Anthropic, model: str, text: str, *, stream: bool) -> anthropic.types.Message:
    """One call, streamed (`messages.stream`, the SDK's own assembly of the events) or not."""
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": text}]
    if stream:
        with client.messages.stream(model=model, max_tokens=64, messages=messages) as events:
            return events.get_final_message()
    return client.messages.create(model=model, max_tokens=64, messages=messages)


def _anthropic_error(error: anthropic.APIStatusError, kind: str) -> str:
    """The message of an error in Anthropic's shape (what its SDKs and Claude Code read)."""
    body = error.body
    assert isinstance(body, dict) and body.get("type") == "error", body
    assert body["error"]["type"] == kind, body
    return body["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("model", ["demo-agent", "demo-echo"])  # anthropic/ upstream, openai/ (translated)
def test_messages_are_policed_and_name_their_dialect(
    proxy_url: str, control_plane, model: str, stream: bool
) -> None:
    fake, _ = control_plane
    seen = len(fake.hook_bodies), len(fake.ws_messages)
    with _anthropic(proxy_url) as client:
        reply = _ask(client, model, "rewrite-me", stream=stream)
    assert [block.type for block in reply.content] == ["text"]
    assert reply.content[0].text == "You said: rewritten", "the pre-call edit reached the upstream"  # type: ignore[union-attr]
    assert reply.stop_reason == "end_turn"
    hooks = fake.hook_bodies[seen[0] :]
    assert hooks and all(body["luthien_dialect"] == "anthropic_messages" for _, body in hooks)
    if stream:
        start, *rest = [m for m in fake.ws_messages[seen[1] :] if m["type"] in ("START", "CHUNK")]
        assert start["type"] == "START" and start["luthien_dialect"] == "anthropic_messages"
        assert rest and rest[0]["data"]["type"] == "message_start", "CHUNK data are Anthropic events"
    else:
        [(_, success)] = [(h, b) for h, b in hooks if h == "async_post_call_success_hook"]
        assert success["response"]["type"] == "message" and "_hidden_params" not in success["response"]


@pytest.mark.parametrize("stream", [False, True])
def test_messages_rejection_is_an_anthropic_error(proxy_url: str, stream: bool) -> None:
    with _anthropic(proxy_url) as client, pytest.raises(anthropic.PermissionDeniedError) as info:
        _ask(client, "demo-agent", "tell me something forbidden", stream=stream)
    assert info.value.status_code == 403
    assert _anthropic_error(info.value, "permission_error") == "Prompt mentions a forbidden topic"


@pytest.mark.parametrize(
    ("prompt", "says"), [("stream-error", "policy crashed"), ("stream-reject", "blocked")]
)
def test_messages_stream_policy_failure_mid_stream_is_an_error_event(
    proxy_url: str, prompt: str, says: str
) -> None:
    """After the first event is out, a policy ERROR or REJECT ends the stream with an `error`
    event, which the SDK raises; the stream never runs on unpoliced."""
    received: list[str] = []
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": f"{prompt} please"}]
    with (
        _anthropic(proxy_url) as client,
        pytest.raises(anthropic.APIStatusError, match=says),
        client.messages.stream(model="demo-long", max_tokens=64, messages=messages) as events,
    ):
        received.extend(event.type for event in events)
    assert received[:1] == ["message_start"] and "content_block_delta" not in received


# An upstream error's Anthropic shape and status (the policy plays no part) is checked once, through
# the real control plane: tests/e2e/test_litellm_messages.py.
def test_count_tokens_is_served_unpoliced(proxy_url: str, upstream_url: str, control_plane) -> None:
    """A count generates nothing: LiteLLM asks the model's own counter, no hook runs."""
    fake, _ = control_plane
    seen = len(fake.hook_bodies)
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "one two three four"}]
    direct = anthropic.Anthropic(base_url=upstream_url.removesuffix("/v1"), api_key="x", max_retries=0)
    with _anthropic(proxy_url) as client, direct:
        counted = client.messages.count_tokens(model="demo-agent", messages=messages)
        expected = direct.messages.count_tokens(model="demo-agent", messages=messages)
    assert counted.input_tokens == expected.input_tokens > 0
    assert len(fake.hook_bodies) == seen


def test_no_secret_reaches_control_plane_from_a_messages_call(proxy_url: str, control_plane) -> None:
    fake, _ = control_plane
    with _anthropic(proxy_url) as client:
        _ask(client, "demo-agent", "hi", stream=False)
        _ask(client, "demo-agent", "hi", stream=True)
    wire = b"".join(fake.raw_bodies) + repr(fake.ws_messages).encode()
    assert MASTER_KEY.encode() not in wire
    assert UPSTREAM_KEY.encode() not in wire
