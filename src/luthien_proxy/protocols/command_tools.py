"""Which argument of which tool the command monitor reads: the `shell_tools` and `file_tools`
entries of its config (`{name: <name or glob>, argument: <path>}`) and the fallback for the rest.

A path is keys joined by dots (`command`, `input.command`; a key of digits also indexes a list,
`commands.0`), read through strings that hold JSON; `$` is the whole arguments (a custom tool's
free text). A shell tool's argument is a command line (a string) or an argv (a list of strings).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal, cast

from luthien_proxy.protocols.command_heuristic import NESTED_JSON_DEPTH, heuristic_extract, writes_files
from luthien_proxy.protocols.toolcalls import ToolCall

FALLBACKS = ("heuristic", "none")
WHOLE = "$"
_PATH = re.compile(r"[^.\s]+(?:\.[^.\s]+)*")
_KEYS = {
    "shell_tools": ("name", "argument", "workdir", "required"),
    "file_tools": ("name", "argument", "writes"),
}
_MISSING = object()


@dataclass(frozen=True)
class ToolEntry:
    """One configured tool: calls whose name matches `name` carry their command (a shell tool) or
    the paths they touch (a file tool) at `argument`, and nowhere else. A shell tool's call
    without its `required` argument is unreadable (blocked)."""

    kind: Literal["shell", "file"]
    name: str
    argument: str
    workdir: str | None = None
    writes: bool | None = None
    required: bool = True

    def matches(self, tool: str) -> bool:
        return fnmatchcase(tool, self.name)


@dataclass(frozen=True)
class Reading:
    """What a call would act on: command lines with their working directory, file paths, whether
    the paths are written, and why the call could not be read (a configured command is missing)."""

    commands: list[tuple[str, str | None]]
    paths: list[str]
    writes: bool
    problem: str | None = None


def parse_entries(section: str, field: str, raw: object) -> list[ToolEntry]:
    """The entries of the `shell_tools` or `file_tools` list of `section`; anything malformed is a
    `ValueError` naming the entry and the key (`monitor.shell_tools[1].argument`)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ValueError(f"{section}.{field} must be a list of {{name, argument}} mappings, got {raw!r}")
    return [_entry(section, field, i, item) for i, item in enumerate(cast("list[object]", raw))]


def _entry(section: str, field: str, index: int, raw: object) -> ToolEntry:
    where = f"{section}.{field}[{index}]"
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a mapping {{name, argument}}, got {raw!r}")
    item = cast("dict[str, object]", raw)
    allowed = _KEYS[field]
    unknown = sorted(str(k) for k in item if k not in allowed)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {list(allowed)}")
    name = item.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{where}.name must be a non-empty tool name or glob, got {name!r}")
    argument = _path(f"{where}.argument", item.get("argument"))
    workdir = item.get("workdir")
    if workdir is not None:
        workdir = _path(f"{where}.workdir", workdir)
    writes, required = _flag(where, item, "writes", None), _flag(where, item, "required", True)
    kind: Literal["shell", "file"] = "shell" if field == "shell_tools" else "file"
    return ToolEntry(kind, name, argument, workdir, writes, required is not False)


def _flag(where: str, item: dict[str, object], key: str, default: bool | None) -> bool | None:
    flag = item.get(key, default)
    if flag is not None and not isinstance(flag, bool):
        raise ValueError(f"{where}.{key} must be true or false, got {flag!r}")
    return flag


def _path(where: str, raw: object) -> str:
    if not isinstance(raw, str) or not (raw == WHOLE or _PATH.fullmatch(raw)):
        raise ValueError(
            f"{where} must be a path into the arguments: keys joined by dots (e.g. 'command', "
            f"'input.command') or '{WHOLE}' for the whole arguments, got {raw!r}"
        )
    return raw


class ToolReader:
    """Reads a call by the first entry its name matches (`shell_tools` before `file_tools`), else
    by the fallback: `heuristic` (argument keys and shell-like names) or `none` (not read)."""

    def __init__(self, entries: list[ToolEntry], fallback: str = "heuristic") -> None:
        if fallback not in FALLBACKS:
            raise ValueError(f"monitor.fallback must be one of {FALLBACKS}, got {fallback!r}")
        self.entries = entries
        self.fallback = fallback

    def read(self, call: ToolCall) -> Reading:
        entry = next((e for e in self.entries if e.matches(call.name)), None)
        if entry is not None:
            return _configured(entry, call)
        if self.fallback == "none":
            return Reading([], [], False)
        commands, paths = heuristic_extract(call)
        return Reading(commands, paths, writes_files(call.name))


def _configured(entry: ToolEntry, call: ToolCall) -> Reading:
    parsed = call.parsed_arguments()
    value = resolve(parsed, entry.argument)
    if entry.kind == "file":
        found = [value] if isinstance(value, str) else _strings(value) or []
        writes = entry.writes if entry.writes is not None else writes_files(call.name)
        return Reading([], found, writes)
    cwd = resolve(parsed, entry.workdir) if entry.workdir else None
    here = cwd if isinstance(cwd, str) else None
    if isinstance(value, str):
        return Reading([(value, here)], [], False)
    argv = _strings(value)
    if argv is not None:
        return Reading([(shlex.join(argv), here)] if argv else [], [], False)
    if value is _MISSING or value is None:
        problem = f"{call.name} has no command at {entry.argument!r}" if entry.required else None
        return Reading([], [], False, problem)
    return Reading([], [], False, f"{call.name} has an unreadable command at {entry.argument!r}")


def resolve(arguments: Any, path: str) -> Any:
    """The value at `path` in the decoded `arguments`, decoding strings that hold JSON on the way;
    `_MISSING` when the path is not there."""
    if path == WHOLE:
        return arguments
    value = arguments
    for key in path.split("."):
        value = _decoded(value)
        if isinstance(value, dict) and key in value:
            value = cast("dict[str, Any]", value)[key]
        elif isinstance(value, list) and key.isdigit() and int(key) < len(cast("list[Any]", value)):
            value = cast("list[Any]", value)[int(key)]
        else:
            return _MISSING
    return value


def _decoded(value: Any) -> Any:
    for _ in range(NESTED_JSON_DEPTH):
        if not (isinstance(value, str) and value.lstrip()[:1] in ("{", "[")):
            break
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            break
    return value


def _strings(value: Any) -> list[str] | None:
    """`value` as a list of strings (an argv, or several paths), else None."""
    if isinstance(value, list) and all(isinstance(v, str) for v in cast("list[Any]", value)):
        return cast("list[str]", value)
    return None
