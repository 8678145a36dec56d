"""The whole stack as a user runs it, Responses side: the official openai SDK → LiteLLM's own
`/v1/responses` (our callback) → demo upstream, policed by the real control plane of `luthien up --demo`.

The package's stacks (tests/e2e/conftest.py): one polices (a tool-call rule, then AllCaps), one
leaves everything alone (NoOp: the stream is relayed over the proxy link). Both of LiteLLM's
Responses paths are driven: `openai/` models (`demo-echo`, `demo-tool`: LiteLLM calls the upstream's
`/responses`) and an `anthropic/` one (`demo-agent`, which Codex talks to: LiteLLM's
Responses-to-chat bridge, then the upstream's Messages API).
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import openai
import orjson
import pytest
from openai.types.responses import FunctionToolParam, Response

from tests.e2e.stack import BLOCK, RunningStack

pytestmark = pytest.mark.e2e

#: Codex's shell tool, as it offers it (demo-agent calls the shell tool the client offers).
EXEC: FunctionToolParam = {
    "type": "function",
    "name": "exec_command",
    "description": "Runs a command.",
    "strict": False,
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}, "required": ["cmd"]},
}
STREAMS = pytest.mark.parametrize("stream", [False, True], ids=["json", "sse"])


def _ask(client: openai.OpenAI, model: str, text: str, *, stream: bool) -> tuple[Response, list[Any]]:
    """One call, streamed (the SDK assembles the events: `get_final_response`) or not; the response
    and every event the client got."""
    if stream:
        with client.responses.stream(model=model, input=text, tools=[EXEC]) as events:
            received = [event.model_dump(mode="json", warnings=False) for event in events]
            return events.get_final_response(), received
    return client.responses.create(model=model, input=text, tools=[EXEC]), []


def _output(response: Response) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", exclude_none=True, warnings=False) for item in response.output]


def _call(stack: RunningStack, call_id: str) -> dict[str, Any]:
    """The call's read view, once its records (written in batches just after the answer) are in."""
    deadline = time.monotonic() + 10
    with stack.control_plane() as control_plane:
        while time.monotonic() < deadline:
            answer = control_plane.get("/api/hooks/conversation", params={"call_id": call_id})
            if answer.status_code == 200 and answer.json()["call"]["completed_at"]:
                return answer.json()["call"]
            time.sleep(0.05)
    raise AssertionError(f"call {call_id} never completed in the records")


@STREAMS
@pytest.mark.parametrize("model", ["demo-echo", "demo-agent"])
def test_text_is_policed(policing_stack: RunningStack, model: str, stream: bool) -> None:
    with policing_stack.client() as client:
        reply, events = _ask(client, model, "hello there policed world", stream=stream)
    assert reply.output_text == "YOU SAID: HELLO THERE POLICED WORLD" and reply.status == "completed"
    deltas = [e["delta"] for e in events if e["type"] == "response.output_text.delta"]
    assert all(delta == delta.upper() for delta in deltas), "every delta policed, none held back"
    assert len(deltas) == (6 if stream else 0), "one delta per word, as the upstream streams them"


@STREAMS
def test_a_blocked_function_call_never_reaches_the_client(policing_stack: RunningStack, stream: bool) -> None:
    """Not in any event (not even an arguments delta) nor in `response.completed`: a message item
    saying why instead, with the response completed, which ends Codex's turn cleanly."""
    with policing_stack.client() as client:
        reply, events = _ask(client, "demo-agent", "run: cat /etc/shadow", stream=stream)
    assert [(i["type"], i["content"][0]["text"]) for i in _output(reply)] == [("message", BLOCK.upper())]
    assert reply.status == "completed"
    assert "/etc/shadow" not in orjson.dumps(events).decode()
    assert not any(e["type"].startswith("response.function_call") for e in events)
    if stream:
        assert events[-1]["type"] == "response.completed"


@STREAMS
@pytest.mark.parametrize(
    ("model", "prompt", "name", "arguments"),
    [
        ("demo-agent", "run: ls -la", "exec_command", {"cmd": "ls -la"}),
        ("demo-tool", "list files", "run_shell", {"command": "ls -la"}),
    ],
)
def test_an_allowed_function_call_arrives_whole(
    policing_stack: RunningStack, model: str, prompt: str, name: str, arguments: dict[str, str], stream: bool
) -> None:
    with policing_stack.client() as client:
        reply, events = _ask(client, model, prompt, stream=stream)
    [call] = _output(reply)
    assert (call["type"], call["name"], orjson.loads(call["arguments"])) == ("function_call", name, arguments)
    assert call["call_id"] and call["status"] == "completed"
    if stream:
        [done] = [e["item"] for e in events if e["type"] == "response.output_item.done"]
        assert done["call_id"] == call["call_id"] and done["arguments"] == call["arguments"]


@STREAMS
def test_an_upstream_error_is_an_openai_error(policing_stack: RunningStack, stream: bool) -> None:
    error: type[openai.APIError] = openai.APIError if stream else openai.InternalServerError
    with policing_stack.client() as client, pytest.raises(error, match="simulated upstream failure") as info:
        _ask(client, "demo-error", "hi", stream=stream)
    if not stream:
        assert isinstance(info.value, openai.APIStatusError) and info.value.status_code == 500


@STREAMS
def test_records_show_the_dialect_the_text_and_the_decision(
    policing_stack: RunningStack, stream: bool
) -> None:
    with policing_stack.client() as client:
        raw = client.responses.with_raw_response.create(
            model="demo-agent", input="run: cat ~/.ssh/id_rsa", tools=[EXEC], stream=stream
        )
        parsed = raw.parse()
        if stream:
            list(parsed)  # type: ignore[arg-type]
        view = _call(policing_stack, raw.headers["x-litellm-call-id"])
    assert (view["dialect"], view["status"], view["streamed"]) == ("openai_responses", "success", stream)
    blocked = [d for d in view["decisions"] if d.get("action") == "block"]
    assert blocked and "id_rsa" in str(blocked), view["decisions"]
    assert view["response"]["final"] == BLOCK.upper()


def test_a_policy_that_leaves_streams_alone_relays_them_and_records_them(noop_stack: RunningStack) -> None:
    with noop_stack.client() as client:
        reply, _ = _ask(client, "demo-echo", "relay me please", stream=False)
        assert reply.output_text == "You said: relay me please"
        raw = client.responses.with_raw_response.create(
            model="demo-echo", input="relay me please", stream=True
        )
        types = [event.type for event in raw.parse()]  # type: ignore[union-attr]
        view = _call(noop_stack, raw.headers["x-litellm-call-id"])
    assert types[0] == "response.created" and types[-1] == "response.completed"
    assert (view["dialect"], view["status"]) == ("openai_responses", "success")
    assert view["response"]["final"] == "You said: relay me please"


def test_stored_responses_are_refused(policing_stack: RunningStack) -> None:
    """Their output would reach the client unpoliced (LiteLLM's `/v1/responses/{id}` and kin)."""
    headers = {"authorization": f"Bearer {policing_stack.api_key}"}
    answer = httpx.get(f"{policing_stack.proxy_url}/v1/responses/resp_1", headers=headers, timeout=10)
    assert answer.status_code == 403 and "GET /v1/responses/resp_1" in answer.json()["error"]["message"]
