"""Fail closed (default) and fail open, with the real control plane stopped before or during a call."""

from __future__ import annotations

import contextlib
import secrets
import signal
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import anthropic
import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from luthien_proxy.tooling.stack.processes import start_demo_upstream, stop
from tests.e2e.stack import REPO
from tests.support.processes import ManagedProcess, free_port, luthien

pytestmark = pytest.mark.e2e

PROMPT: list[ChatCompletionMessageParam] = [{"role": "user", "content": "hello there"}]
TOKEN = secrets.token_hex(16)
KEY = f"sk-e2e-{secrets.token_hex(12)}"
BODY_LIMIT = 64 * 1024


@dataclass
class Door:
    """One LiteLLM proxy (the expensive process) whose callback points at a fixed control-plane port;
    each test starts (and kills) its own control plane on that port."""

    proxy: ManagedProcess
    proxy_port: int
    control_plane_port: int
    #: The clients a test made, closed after it (the proxy outlives the test, and their sockets too).
    clients: list[openai.OpenAI | anthropic.Anthropic] = field(default_factory=list)

    def client(self) -> openai.OpenAI:
        url = f"http://127.0.0.1:{self.proxy_port}/v1"
        client = openai.OpenAI(base_url=url, api_key=KEY, max_retries=0, timeout=30)
        self.clients.append(client)
        return client

    def anthropic(self) -> anthropic.Anthropic:
        """The same LiteLLM door's `/v1/messages`."""
        url = f"http://127.0.0.1:{self.proxy_port}"
        client = anthropic.Anthropic(base_url=url, api_key=KEY, max_retries=0, timeout=30)
        self.clients.append(client)
        return client

    def close_clients(self) -> None:
        while self.clients:
            self.clients.pop().close()


@dataclass
class Pieces:
    control_plane: ManagedProcess
    door: Door
    control_plane_url: str

    def client(self) -> openai.OpenAI:
        return self.door.client()

    def anthropic(self) -> anthropic.Anthropic:
        return self.door.anthropic()


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    process, url = start_demo_upstream(None, "--long-chunks", "80", "--long-delay-ms", "25")
    try:
        yield url
    finally:
        stop(process)


@pytest.fixture(scope="module")
def doors(upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Door]]:
    """A fail-closed and a fail-open proxy, started side by side once for the module (LiteLLM's start
    is most of a stack's cost). The callback reconnects its link to whichever control plane comes
    up on its port next, and with the link down every hook takes the slow path, so no test sees
    another's control plane (each test stops its own)."""
    workdir = tmp_path_factory.mktemp("fail-modes")
    config = str(REPO / "config" / "litellm_config.yaml")
    with contextlib.ExitStack() as stack:
        started: dict[str, Door] = {}
        for fail_mode in ("closed", "open"):
            cp_port, proxy_port = free_port(), free_port()
            env = {
                "LITELLM_MASTER_KEY": KEY,
                "LUTHIEN_PROXY_TOKEN": TOKEN,
                "LUTHIEN_CONTROL_PLANE_URL": f"http://127.0.0.1:{cp_port}",
                "LUTHIEN_CONTROL_PLANE_TIMEOUT": "3",
                "LUTHIEN_FAIL_MODE": fail_mode,
                "LUTHIEN_DEMO_UPSTREAM_URL": upstream,
                "LUTHIEN_DEMO_ANTHROPIC_URL": upstream.removesuffix("/v1"),
            }
            args = luthien("proxy", "--config", config, "--port", str(proxy_port))
            log = workdir / f"proxy-{fail_mode}.log"
            proxy = stack.enter_context(ManagedProcess(args, env=env, cwd=workdir, log=log))
            started[fail_mode] = Door(proxy, proxy_port, cp_port)
        for door in started.values():
            door.proxy.wait_http_ok(f"http://127.0.0.1:{door.proxy_port}/health/liveliness", timeout=180)
        yield started


def _control_plane(workdir: Path, port: int, policy: str, body_limit: int | None = None) -> ManagedProcess:
    env = {
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "LUTHIEN_PROXY_TOKEN": TOKEN,
        "LUTHIEN_POLICY_CONFIG": str(REPO / "config" / policy),
    }
    if body_limit is not None:
        env["LUTHIEN_MAX_BODY_BYTES"] = str(body_limit)
    process = ManagedProcess(
        luthien("control-plane", "--port", str(port)), env=env, cwd=workdir, log=workdir / f"cp-{port}.log"
    )
    try:
        process.wait_http_ok(f"http://127.0.0.1:{port}/health")
    except BaseException:
        process.stop()
        raise
    return process


@pytest.fixture
def pieces(request: pytest.FixtureRequest, tmp_path: Path, doors: dict[str, Door]) -> Iterator[Pieces]:
    """This test's own control plane, on its fail mode's door's port; stopped (if still up) after."""
    fail_mode, policy, *body_limit = request.param
    door = doors[fail_mode]
    try:
        with _control_plane(tmp_path, door.control_plane_port, policy, *body_limit) as control_plane:
            yield Pieces(control_plane, door, f"http://127.0.0.1:{door.control_plane_port}")
    finally:
        door.close_clients()


def test_fail_closed_without_any_control_plane_is_a_503_that_says_so(doors: dict[str, Door]) -> None:
    """Nothing listens on the control plane's port (this test starts none): every door's call, plain
    or streamed, is a 503 naming the cause, in the dialect's error shape."""
    door = doors["closed"]
    try:
        _no_control_plane_at_all(door)
    finally:
        door.close_clients()


def _no_control_plane_at_all(door: Door) -> None:
    client = door.client()
    with pytest.raises(openai.APIStatusError) as plain:
        client.chat.completions.create(model="demo-echo", messages=PROMPT)
    assert plain.value.status_code == 503
    assert "control plane unreachable" in plain.value.message
    with pytest.raises(openai.APIStatusError) as streamed:
        for _ in client.chat.completions.create(model="demo-echo", messages=PROMPT, stream=True):
            pass
    assert streamed.value.status_code == 503
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hello"}]
    claude = door.anthropic()
    for stream in (False, True):
        with pytest.raises(anthropic.APIStatusError) as info:
            if stream:
                with claude.messages.stream(model="demo-agent", max_tokens=64, messages=messages) as events:
                    events.get_final_message()
            else:
                claude.messages.create(model="demo-agent", max_tokens=64, messages=messages)
        assert info.value.status_code == 503
        body = info.value.body
        assert isinstance(body, dict) and body.get("type") == "error", body
        assert body["error"]["type"] == "api_error", body
        assert "control plane unreachable" in body["error"]["message"]
        assert "fail-closed" in body["error"]["message"]
        with pytest.raises(openai.APIStatusError) as responses:
            if stream:
                with client.responses.stream(model="demo-echo", input="hello") as events:
                    events.get_final_response()
            else:
                client.responses.create(model="demo-echo", input="hello")
        assert responses.value.status_code == 503
        assert "control plane unreachable" in responses.value.message
        assert "fail-closed" in responses.value.message


@pytest.mark.parametrize(
    ("pieces", "answer"),
    [
        (("closed", "all_caps.yaml"), "YOU SAID: HELLO THERE"),
        # NoOp answers no hook: every hook is reported over the proxy link, none asked.
        (("closed", "luthien_config.yaml"), "You said: hello there"),
    ],
    indirect=["pieces"],
)
def test_fail_closed_blocks_everything_once_the_control_plane_is_gone(pieces: Pieces, answer: str) -> None:
    client = pieces.client()
    assert (
        client.chat.completions.create(model="demo-echo", messages=PROMPT).choices[0].message.content
        == answer
    )
    # With the link up, too: its drop is what stops the fast path.
    pieces.control_plane.wait_http_ok(pieces.control_plane_url + "/health", until=_link_connected)
    assert (
        client.chat.completions.create(model="demo-echo", messages=PROMPT).choices[0].message.content
        == answer
    )
    pieces.control_plane.stop(signal.SIGKILL)
    with pytest.raises(openai.APIStatusError) as plain:
        client.chat.completions.create(model="demo-echo", messages=PROMPT)
    received: list[str] = []
    with pytest.raises(openai.APIError) as streamed:
        for chunk in client.chat.completions.create(model="demo-echo", messages=PROMPT, stream=True):
            received.append(chunk.choices[0].delta.content or "" if chunk.choices else "")
    assert plain.value.status_code in (502, 503)
    assert "fail-closed" in str(plain.value)
    assert "fail-closed" in str(streamed.value)
    assert "".join(received) == "", "no unpoliced content may reach the client"
    _messages_fail_closed(pieces.anthropic())
    _responses_fail_closed(client)


def _messages_fail_closed(client: anthropic.Anthropic) -> None:
    """`/v1/messages` with the control plane gone: an error in Anthropic's shape, streamed or not."""
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hello there"}]
    received: list[str] = []
    with client:
        with pytest.raises(anthropic.APIStatusError) as plain:
            client.messages.create(model="demo-agent", max_tokens=64, messages=messages)
        with (
            pytest.raises(anthropic.APIStatusError) as streamed,
            client.messages.stream(model="demo-agent", max_tokens=64, messages=messages) as events,
        ):
            received.extend(event.type for event in events)
    for error in (plain.value, streamed.value):
        assert error.status_code in (502, 503)
        body = error.body
        assert isinstance(body, dict) and body["type"] == "error", body
        assert "fail-closed" in body["error"]["message"]
    assert received == [], "no event of the upstream may reach the client"


def _responses_fail_closed(client: openai.OpenAI) -> None:
    """`/v1/responses` with the control plane gone: an OpenAI error with the status, streamed or not."""
    events: list[str] = []
    with pytest.raises(openai.APIStatusError) as plain:
        client.responses.create(model="demo-echo", input="hello there")
    with (
        pytest.raises(openai.APIStatusError) as streamed,
        client.responses.stream(model="demo-echo", input="hello there") as stream,
    ):
        events.extend(event.type for event in stream)
    for error in (plain.value, streamed.value):
        assert error.status_code in (502, 503) and "fail-closed" in error.message
    assert events == [], "no event of the upstream may reach the client"


def _link_connected(body: dict) -> bool:
    return body.get("proxy_links", 0) >= 1


@pytest.mark.parametrize("pieces", [("open", "all_caps.yaml")], indirect=True)
def test_fail_open_passes_the_original_through(pieces: Pieces) -> None:
    client = pieces.client()
    assert client.chat.completions.create(model="demo-echo", messages=PROMPT).choices[0].message.content == (
        "YOU SAID: HELLO THERE"
    )
    pieces.control_plane.stop(signal.SIGKILL)
    plain = client.chat.completions.create(model="demo-echo", messages=PROMPT)
    streamed = client.chat.completions.create(model="demo-echo", messages=PROMPT, stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in streamed if chunk.choices)
    assert plain.choices[0].message.content == "You said: hello there"
    assert text == "You said: hello there"


@pytest.mark.parametrize("pieces", [("closed", "all_caps.yaml")], indirect=True)
def test_control_plane_dying_mid_messages_stream_ends_it_with_an_error_event(pieces: Pieces) -> None:
    """`/v1/messages`: after the first events the failure is an Anthropic `error` event the SDK
    raises; every text delta the client got was policed, and the stream did not run on."""
    messages: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hello there"}]
    texts: list[str] = []
    with (
        pieces.anthropic() as client,
        pytest.raises(anthropic.APIStatusError) as info,
        client.messages.stream(model="demo-long", max_tokens=64, messages=messages) as events,
    ):
        for event in events:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                texts.append(event.delta.text)
                if len(texts) == 3:
                    pieces.control_plane.stop(signal.SIGKILL)
    text = "".join(texts)
    assert text.startswith("CHUNK 0") and text == text.upper(), text
    assert "CHUNK 79" not in text, "the stream did not run to completion unpoliced"
    assert isinstance(info.value.body, dict) and info.value.body["type"] == "error", info.value.body


@pytest.mark.parametrize("pieces", [("closed", "all_caps.yaml")], indirect=True)
def test_control_plane_dying_mid_stream_ends_it_with_an_error(pieces: Pieces) -> None:
    stream = pieces.client().chat.completions.create(model="demo-long", messages=PROMPT, stream=True)
    received: list[str] = []
    with pytest.raises(openai.APIError):
        for chunk in stream:
            text = chunk.choices[0].delta.content or "" if chunk.choices else ""
            received.append(text)
            if len([t for t in received if t]) == 3:
                pieces.control_plane.stop(signal.SIGKILL)
    text = "".join(received)
    assert text.startswith("CHUNK 0"), text
    assert text == text.upper(), "every byte the client got was policed"
    assert "CHUNK 79" not in text, "the stream did not run to completion unpoliced"


def _padded(size: int) -> list[ChatCompletionMessageParam]:
    return [{"role": "user", "content": "pad " + "x" * size}]


@pytest.mark.parametrize("pieces", [("open", "all_caps.yaml", BODY_LIMIT)], indirect=True)
def test_fail_open_never_passes_a_call_the_control_plane_refused(pieces: Pieces) -> None:
    """Padding a request (or making the model pad its answer) past the control plane's body limit
    gets its 413, never the original unpoliced: fail-open is for an unreachable control plane only."""
    client = pieces.client()
    with pytest.raises(openai.APIStatusError) as plain:
        client.chat.completions.create(model="demo-echo", messages=_padded(BODY_LIMIT))
    with pytest.raises(openai.APIStatusError) as streamed:
        for _ in client.chat.completions.create(model="demo-echo", messages=_padded(BODY_LIMIT), stream=True):
            pass
    # The request fits, but request and echoed answer together do not: the answer is refused.
    with pytest.raises(openai.APIStatusError) as answer:
        client.chat.completions.create(model="demo-echo", messages=_padded(BODY_LIMIT // 2 + 1024))
    for refused in (plain.value, streamed.value, answer.value):
        assert refused.status_code == 413, refused
        assert f"the limit is {BODY_LIMIT}" in refused.message or "exceeds the limit" in refused.message
    assert (
        client.chat.completions.create(model="demo-echo", messages=PROMPT).choices[0].message.content
        == "YOU SAID: HELLO THERE"
    ), "the service keeps serving"
