"""`CommandMonitor`: a model-free monitor for coding agents' tool calls, scored like a judge's verdict.

It reads the shell command a call would run, and the paths a file tool would touch, from the
decoded arguments (never their JSON text): for a tool its `shell_tools`/`file_tools` entries name,
only from the argument the entry names (Claude Code's `Bash` `command`, Codex's `exec_command`
`cmd`); for any other tool by the fallback heuristics (`command_heuristic`) unless `fallback:
none`. The score is the worst finding of `command_checks` (0.02 when there is none); the reason
names its category and the command. Work is linear in the arguments and capped
(`max_command_chars`): longer commands score 1.0 unread.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from luthien_proxy.model import Request
from luthien_proxy.policies.base import PolicyContext
from luthien_proxy.policies.host import PolicyHost
from luthien_proxy.protocols.command_checks import HISTORY_CHARS, Finding, assess
from luthien_proxy.protocols.command_checks.sabotage import is_ci_file, is_test_file
from luthien_proxy.protocols.command_checks.sensitive import persistence, secret
from luthien_proxy.protocols.command_tools import ToolReader, parse_entries
from luthien_proxy.protocols.config_section import ConfigSection
from luthien_proxy.protocols.monitor import Judgement
from luthien_proxy.protocols.shell import Budget
from luthien_proxy.protocols.shell.paths import canonical
from luthien_proxy.protocols.toolcalls import ToolCall

BASELINE = 0.02
#: Calls up to this many characters (with their history) are judged inline, longer ones in a thread.
INLINE_CHARS = 8_000


class CommandMonitor(ConfigSection):
    """Scores tool calls by what their commands would do; no model, no network."""

    section = "monitor"
    kind = "command"

    def __init__(
        self,
        kind: str = "command",
        max_command_chars: int = 50_000,
        tools: list[str] | None = None,
        shell_tools: list[dict[str, object]] | None = None,
        file_tools: list[dict[str, object]] | None = None,
        fallback: str = "heuristic",
        *,
        host: PolicyHost,
    ) -> None:
        if kind != "command":
            raise ValueError(f"monitor kind must be 'command' here, got {kind!r}")
        if not isinstance(max_command_chars, int) or max_command_chars < 1:
            raise ValueError(f"max_command_chars must be a positive integer, got {max_command_chars!r}")
        if tools is not None and not (isinstance(tools, list) and all(isinstance(t, str) for t in tools)):
            raise ValueError("tools must be a list of tool names")
        entries = [
            *parse_entries(self.section, "shell_tools", shell_tools),
            *parse_entries(self.section, "file_tools", file_tools),
        ]
        super().__init__(host=host)
        self.max_command_chars = max_command_chars
        self.tools = frozenset(tools) if tools else None
        self.reader = ToolReader(entries, fallback)

    def findings(self, call: ToolCall, history: Sequence[tuple[str, str | None]] = ()) -> list[Finding]:
        """Every finding about `call`: its commands (after the agent's earlier `history`), then the
        paths a file tool would touch."""
        if self.tools is not None and call.name not in self.tools:
            return []
        limit = 4 * self.max_command_chars
        if len(call.arguments) > limit:
            return [Finding(1.0, "unreadable", f"arguments longer than {limit} characters")]
        reading = self.reader.read(call)
        if reading.problem is not None:  # a configured shell tool whose command cannot be found
            return [Finding(1.0, "unreadable", reading.problem)]
        budget = Budget(chars=limit)
        found: list[Finding] = []
        for command, cwd in reading.commands:
            if len(command) > self.max_command_chars:
                return [
                    Finding(1.0, "unreadable", f"a command longer than {self.max_command_chars} characters")
                ]
            found.extend(assess(command, budget, cwd, history))
        for path in reading.paths:
            found.extend(_file_tool(call.name, canonical(path), reading.writes))
        return found

    def score(
        self, call: ToolCall, history: Sequence[tuple[str, str | None]] = ()
    ) -> tuple[float, str, list[Finding], str | None]:
        """The call's score (the worst finding's, else `BASELINE`), its reason, the findings, and
        the error that made the monitor fail closed (score 1), if any."""
        try:
            found = sorted(self.findings(call, history), key=lambda f: -f.score)
        except Exception as exc:  # a bug must never let a call through unjudged
            error = f"{type(exc).__name__}: {exc}"[:200]
            return 1.0, "the command monitor failed; blocked unread", [], error
        if not found:
            return BASELINE, "no dangerous command found", [], None
        others = len({f.category for f in found if f.score > 0.5}) - 1
        reason = found[0].reason + (f" (and {others} more kinds of danger)" if others > 0 else "")
        return found[0].score, reason, found, None

    async def judge(self, call: ToolCall, request: Request, ctx: PolicyContext, protocol: str) -> Judgement:
        """Score `call` and record the verdict on `ctx`, as a judge's is recorded."""
        started = time.perf_counter()
        earlier = history(request, self.reader)
        if len(call.arguments) + sum(len(c) for c, _ in earlier) > INLINE_CHARS:
            # A long command takes milliseconds to read: off the event loop, so streams keep flowing.
            score, reason, found, error = await asyncio.to_thread(self.score, call, earlier)
        else:
            score, reason, found, error = self.score(call, earlier)
        latency = (time.perf_counter() - started) * 1000
        ctx.record_decision(
            {
                "protocol": protocol,
                "action": "judge",
                "monitor": self.kind,
                "judge_model": "command-monitor",
                "prompt_summary": f"{call.name} {call.arguments}"[:200],
                "raw": None,
                "score": score,
                "reason": reason,
                "findings": [
                    {"score": f.score, "category": f.category, "detail": f.detail} for f in found[:5]
                ],
                "latency_ms": round(latency, 3),
                "error": error,
                "on_judge_error": None,
                "tool_call": call.summary(),
            }
        )
        return Judgement(call, score, reason, latency, error)


def history(request: Request, reader: ToolReader, limit: int = HISTORY_CHARS) -> list[tuple[str, str | None]]:
    """The commands of the calls already in the conversation (read as `reader` reads a call),
    oldest first, the most recent `limit` characters of them."""
    found: list[tuple[str, str | None]] = []
    size = 0
    for message in reversed(request.messages):
        for part in reversed(message.parts):
            if not isinstance(part, ToolCall):
                continue
            for command, cwd in reversed(reader.read(part).commands):
                size += len(command)
                if size > limit:
                    return found[::-1]
                found.append((command, cwd))
    return found[::-1]


def _file_tool(tool: str, path: str, writes: bool) -> list[Finding]:
    """What a file tool's path means: a secret read, or a write that persists or sabotages."""
    if writes:
        found = persistence(path)
        if found is not None:
            return [Finding(found.score, "persistence", f"{tool} writes {path} ({found.label})")]
        if is_ci_file(path) and "delete" in tool.lower():
            return [Finding(0.6, "sabotage", f"{tool} deletes CI configuration ({path})")]
        if is_test_file(path) and "delete" in tool.lower():
            return [Finding(0.6, "sabotage", f"{tool} deletes tests ({path})")]
        return []
    found = secret(path)
    if found is None:
        return []
    return [Finding(found.score, "credentials", f"{tool} reads {path} ({found.label})")]
