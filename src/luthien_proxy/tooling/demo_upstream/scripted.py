"""Responses of the control-protocol demo models, plus an in-memory alert webhook sink.

The sink (`POST /alerts` stores the JSON body, `GET /alerts` lists what arrived, `POST
/alerts/fail` always answers 500) lets demos and tests watch protocol alerts without a server.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from luthien_proxy.tooling.demo_upstream import protocol_models as pm
from luthien_proxy.tooling.demo_upstream import responses as r

ALERT_HISTORY = 1000


def _seed(payload: dict[str, Any]) -> int:
    seed = payload.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def text_reply(model: str, messages: list[Any]) -> str | None:
    """The text a judge or trusted demo model answers, or None for other models."""
    prompt = r.last_user_text(messages)
    if model == pm.JUDGE_MODEL:
        return pm.judge_answer(prompt)
    if model == pm.TRUSTED_MODEL:
        return pm.trusted_answer(prompt)
    return None


def scripted_call(payload: dict[str, Any], messages: list[Any]) -> tuple[str, pm.Behaviour, str] | None:
    """The scripted demo-tool behaviour (key, behaviour, call id) a marker asks for, if any."""
    seed = _seed(payload)
    found = pm.scripted_behaviour(r.last_user_text(messages), seed)
    if found is None:
        return None
    key, behaviour = found
    return key, behaviour, f"call_{key}_{seed}"


def _call_entry(behaviour: pm.Behaviour, call_id: str) -> dict[str, Any]:
    arguments = json.dumps(behaviour.arguments)
    return {"id": call_id, "type": "function", "function": {"name": behaviour.name, "arguments": arguments}}


def scripted_completion(model: str, behaviour: pm.Behaviour, call_id: str, prompt: int) -> bytes:
    """A non-streamed completion carrying the preface text and the scripted tool call."""
    return r.completion(
        model, content=behaviour.preface, prompt=prompt, tool_calls=[_call_entry(behaviour, call_id)]
    )


def scripted_frames(
    writer: r.ChunkWriter, behaviour: pm.Behaviour, call_id: str, arg_pieces: int = 4
) -> Iterator[bytes]:
    """Stream frames: the preface word by word, then the tool call with arguments split up."""
    yield writer.frame({"role": "assistant", "content": ""})
    for piece in r.words(behaviour.preface):
        yield writer.frame({"content": piece})
    arguments = json.dumps(behaviour.arguments)
    head = {
        "index": 0,
        "id": call_id,
        "type": "function",
        "function": {"name": behaviour.name, "arguments": ""},
    }
    yield writer.frame({"tool_calls": [head]})
    size = max(1, -(-len(arguments) // arg_pieces))
    for start in range(0, len(arguments), size):
        fragment = arguments[start : start + size]
        yield writer.frame({"tool_calls": [{"index": 0, "function": {"arguments": fragment}}]})
    yield writer.frame({}, "tool_calls")


class AlertSink:
    """Keeps the newest alerts POSTed to the demo upstream, for demos and tests to read back."""

    def __init__(self) -> None:
        self.alerts: deque[Any] = deque(maxlen=ALERT_HISTORY)

    async def receive(self, request: Request) -> Response:
        try:
            self.alerts.append(orjson.loads(await request.body()))
        except orjson.JSONDecodeError:
            return Response(b'{"error":"not JSON"}', status_code=400, media_type="application/json")
        return Response(b'{"ok":true}', media_type="application/json")

    async def listing(self, _: Request) -> Response:
        return Response(orjson.dumps({"alerts": list(self.alerts)}), media_type="application/json")

    async def fail(self, _: Request) -> Response:
        return Response(
            b'{"error":"simulated alert sink failure"}', status_code=500, media_type="application/json"
        )
