"""Dialect-neutral scripted answers: each demo model decides text and tool calls once, here.

The OpenAI chat (`openai_wire`), Anthropic Messages (`anthropic_wire`) and OpenAI Responses
(`openai_responses_wire`) encoders write the same `Answer` on their wire, so a model behaves alike
on `/v1/chat/completions`, `/v1/messages` and `/v1/responses`.
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from luthien_proxy.tooling.demo_upstream import hostile_shapes
from luthien_proxy.tooling.demo_upstream import protocol_models as pm
from luthien_proxy.tooling.demo_upstream import responses as r

AGENT_MODEL = "demo-agent"
AGENT_TOOL = "Bash"  # Claude Code's shell tool, and the default when the client offers none
CODEX_TOOL = "exec_command"  # Codex CLI's shell tool, taking `{"cmd": "<command>"}`
SHELL_TOOL = "shell"  # the older Codex shell tool, taking an argv `{"command": [...]}`
RESULT_PREVIEW = 200
MODELS = ("demo-echo", "demo-long", "demo-tool", "demo-error", AGENT_MODEL)
MAX_CHUNKS = 100_000
MAX_DELAY_MS = 10_000
ARG_PIECES = 4
_RUN = "run:"


@dataclass(frozen=True)
class Turn:
    """What the scripts read of a conversation, whatever the dialect it came in."""

    user_text: str  # the last user-role message's text parts, joined by spaces
    user_texts: tuple[str, ...]  # the same parts one by one (a `run:` line may be in any)
    tool_result: str | None  # text of the tool result the conversation ends on, if it does
    messages: int  # how many messages the request holds (keeps demo-agent call ids distinct)
    tools: frozenset[str] = frozenset()  # names of the function tools the client offers


@dataclass(frozen=True)
class Call:
    """One tool call; `id` is a neutral suffix the encoders prefix (`call_` / `toolu_`)."""

    id: str
    name: str
    arguments: str  # JSON text exactly as sent
    pieces: tuple[str, ...] = ()  # stream fragments of `arguments`; empty: split in ARG_PIECES

    def fragments(self) -> list[str]:
        """The argument text in the fragments a stream sends, several so assembly is exercised."""
        if self.pieces:
            return list(self.pieces)
        size = max(1, -(-len(self.arguments) // ARG_PIECES))
        return [self.arguments[i : i + size] for i in range(0, len(self.arguments), size)]


@dataclass(frozen=True)
class Answer:
    """A scripted reply: text as stream pieces, then tool calls; `delay_s` paces each frame."""

    pieces: tuple[str, ...] = ()
    calls: tuple[Call, ...] = ()
    delay_s: float = 0.0

    @property
    def text(self) -> str:
        """The whole text of the reply."""
        return "".join(self.pieces)

    def output_tokens(self) -> int:
        """Deterministic output size: words of the text and of every call's arguments."""
        return r.count_tokens(self.text) + sum(r.count_tokens(c.arguments) for c in self.calls)


@dataclass(frozen=True)
class Failure:
    """A scripted upstream failure (demo-error): the status to answer and its message."""

    status: int
    message: str


@dataclass(frozen=True)
class DemoDefaults:
    """Server-wide defaults for demo-long, overridable per request."""

    long_chunks: int = 50
    long_delay_ms: float = 0.0


def num_field(payload: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    """Read a numeric per-request knob, clamped to a sane range; bad values fall back to the default."""
    value = payload.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return default
    return min(max(value, low), high)


def _seed(payload: Mapping[str, Any]) -> int:
    seed = payload.get("seed")
    return seed if isinstance(seed, int) and not isinstance(seed, bool) else 0


def _text(text: str) -> Answer:
    return Answer(tuple(r.words(text)))


def _call(call_id: str, name: str, arguments: dict[str, Any]) -> Call:
    return Call(call_id, name, json.dumps(arguments))


def offered_tools(tools: Any) -> frozenset[str]:
    """Names of the function tools in a request's `tools`, whichever dialect wrote them.

    OpenAI chat nests the name (`{"type": "function", "function": {"name": ...}}`); Anthropic
    (no type, or `custom`) and Responses (`function`) put it on the tool. Other kinds (Responses'
    `namespace` and `web_search`, Anthropic server tools) are not functions the agent can call.
    """
    names: set[str] = set()
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, Mapping) or tool.get("type", "custom") not in ("function", "custom"):
            continue
        function = tool.get("function")
        name = function.get("name") if isinstance(function, Mapping) else tool.get("name")
        if isinstance(name, str):
            names.add(name)
    return frozenset(names)


def shell_call(command: str, tools: frozenset[str]) -> tuple[str, dict[str, Any]]:
    """The call running `command` through the shell tool the client offers (Bash when none is known)."""
    if CODEX_TOOL in tools:
        return CODEX_TOOL, {"cmd": command}
    if SHELL_TOOL in tools and AGENT_TOOL not in tools:
        return SHELL_TOOL, {"command": ["bash", "-lc", command]}
    return AGENT_TOOL, {"command": command}


def run_command(turn: Turn) -> str | None:
    """The command of the last `run: <command>` line of the last user message, if there is one."""
    found = None
    for part in turn.user_texts:
        for line in part.splitlines():
            stripped = line.strip()
            if stripped.startswith(_RUN) and stripped[len(_RUN) :].strip():
                found = stripped[len(_RUN) :].strip()
    return found


def agent_answer(turn: Turn) -> Answer:
    """demo-agent: a tool result is reported (`done: ...`), a `run:` line becomes one shell call, else echo.

    A tool result wins over a `run:` line so an agent loop always ends after one command.
    """
    if turn.tool_result is not None:
        return _text("done: " + turn.tool_result[:RESULT_PREVIEW])
    command = run_command(turn)
    if command is None:
        return _text(f"You said: {turn.user_text}")
    # Deterministic, and distinct per turn so a client matching results to ids never confuses two.
    call_id = f"agent_{turn.messages}_{zlib.crc32(command.encode()):08x}"
    return Answer(calls=(_call(call_id, *shell_call(command, turn.tools)),))


def _tool_answer(payload: Mapping[str, Any], turn: Turn) -> Answer:
    seed = _seed(payload)
    found = pm.scripted_behaviour(turn.user_text, seed)
    if found is None:
        return Answer(calls=(Call("demo_1", r.TOOL_NAME, r.TOOL_ARGUMENTS),))
    key, behaviour = found
    call = _call(f"{key}_{seed}", behaviour.name, behaviour.arguments)
    return Answer(tuple(r.words(behaviour.preface)), (call,))


def hostile_answer(shaped: hostile_shapes.Plan) -> Answer:
    """A hostile plan as plain calls: its argument fragments kept, OpenAI-only placements dropped."""
    calls = [Call("hostile", hostile_shapes.NAME, shaped.arguments, tuple(shaped.pieces))]
    if shaped.benign_first:
        calls.insert(0, Call("benign", hostile_shapes.NAME, hostile_shapes.BENIGN))
    return Answer(("Working on it.",), tuple(calls))


def script(
    model: str, payload: Mapping[str, Any], turn: Turn, defaults: DemoDefaults
) -> Answer | Failure | None:
    """The answer of demo model `model` to `turn` (None: no such model)."""
    if model == "demo-error":
        status = int(num_field(payload, "demo_status", 500, 400, 599))
        return Failure(status, f"demo-error: simulated upstream failure ({status})")
    if model == pm.JUDGE_MODEL:
        return _text(pm.judge_answer(turn.user_text))
    if model == pm.TRUSTED_MODEL:
        return _text(pm.trusted_answer(turn.user_text))
    if model == "demo-tool":
        return _tool_answer(payload, turn)
    if model == AGENT_MODEL:  # paced like demo-long only when asked (`demo_delay_ms`, default 0)
        delay_ms = num_field(payload, "demo_delay_ms", 0, 0, MAX_DELAY_MS)
        return dataclasses.replace(agent_answer(turn), delay_s=delay_ms / 1000)
    if model == "demo-echo":
        return _text(f"You said: {turn.user_text}")
    if model == "demo-long":
        chunks = int(num_field(payload, "demo_chunks", defaults.long_chunks, 1, MAX_CHUNKS))
        delay_ms = num_field(payload, "demo_delay_ms", defaults.long_delay_ms, 0, MAX_DELAY_MS)
        return Answer(tuple(r.long_pieces(chunks)), delay_s=delay_ms / 1000)
    return None
