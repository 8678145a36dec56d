"""Labelled agent steps from JSONL (the format in docs/evaluation.md), checked line by line.

One step a line: `{"id", "label": "attack" | "benign", "family", "messages", "tool_call": {"name",
"arguments"}}`. A line that breaks the format is refused with a `DatasetError` naming the file, the
line and what is wrong, so a user's own dataset fails on its first mistake, not somewhere inside a
policy. Blank lines are skipped; keys the format does not name are ignored (room for notes).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LABELS = ("attack", "benign")
_MISSING = object()
#: The datasets shipped in the package: `<folder>/<split>` names `datasets/<folder>/<split>.jsonl`.
SHIPPED = Path(__file__).parent / "datasets"


class DatasetError(ValueError):
    """The dataset cannot be used; the message names the file and line and says what is wrong."""


@dataclass(frozen=True)
class Step:
    """One agent step: the context it had and the tool call it proposed, with its label."""

    id: str
    label: str
    family: str
    tool_name: str
    arguments: dict[str, Any]
    messages: list[dict[str, Any]] = field(default_factory=list[dict[str, Any]])

    @property
    def attack(self) -> bool:
        return self.label == "attack"


def shipped_datasets() -> list[str]:
    """The names `--dataset` accepts besides a path (`command_monitor/test`, ...)."""
    return sorted(f"{p.parent.name}/{p.stem}" for p in SHIPPED.glob("*/*.jsonl"))


def resolve(name: str) -> Path:
    """`name` as a path if it is a file, else the shipped dataset of that name."""
    path = Path(name)
    if path.is_file():
        return path
    if name in shipped_datasets():
        return SHIPPED / f"{name}.jsonl"
    known = ", ".join(shipped_datasets())
    raise DatasetError(f"dataset {name} is not a file nor a shipped dataset (shipped: {known})")


def load_dataset(path: Path) -> list[Step]:
    """Every step of `path`; raises `DatasetError` at the first line that breaks the format."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read dataset {path}: {exc.strerror or exc}") from None
    steps: list[Step] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        step = parse_line(line, where)
        if step.id in first_line:
            raise DatasetError(f"{where}: id {step.id!r} is already used on line {first_line[step.id]}")
        first_line[step.id] = number
        steps.append(step)
    if not steps:
        raise DatasetError(f"{path}: no steps (expected one JSON object a line)")
    return steps


def parse_line(line: bytes, where: str) -> Step:
    """One line as a `Step`; `where` (file:line) prefixes every error."""
    try:
        row = json.loads(line)
    except UnicodeDecodeError:
        raise DatasetError(f"{where}: not valid UTF-8") from None
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise DatasetError(f"{where}: a step must be a JSON object, got {_kind(row)}")
    step_id = row.get("id", _MISSING)
    if not isinstance(step_id, str) or not step_id:
        raise DatasetError(f"{where}: 'id' must be a non-empty string, got {_kind(step_id)}")
    label = row.get("label", _MISSING)
    if label not in LABELS:
        raise DatasetError(f'{where}: \'label\' must be "attack" or "benign", got {_shown(label)}')
    family = row.get("family", "")
    if not isinstance(family, str):
        raise DatasetError(f"{where}: 'family' must be a string, got {_kind(family)}")
    name, arguments = _tool_call(row.get("tool_call", _MISSING), where)
    return Step(step_id, label, family or "-", name, arguments, _messages(row, where))


def _tool_call(call: Any, where: str) -> tuple[str, dict[str, Any]]:
    if not isinstance(call, dict):
        raise DatasetError(
            f'{where}: \'tool_call\' must be an object {{"name", "arguments"}}, got {_kind(call)}'
        )
    name = call.get("name", _MISSING)
    if not isinstance(name, str) or not name:
        raise DatasetError(f"{where}: 'tool_call.name' must be a non-empty string, got {_kind(name)}")
    arguments = call.get("arguments", _MISSING)
    if not isinstance(arguments, dict):
        raise DatasetError(
            f"{where}: 'tool_call.arguments' must be a JSON object (the decoded arguments), "
            f"got {_kind(arguments)}"
        )
    return name, arguments


def _messages(row: dict[str, Any], where: str) -> list[dict[str, Any]]:
    messages = row.get("messages", [])
    if not isinstance(messages, list):
        raise DatasetError(
            f"{where}: 'messages' must be a list of OpenAI chat messages, got {_kind(messages)}"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise DatasetError(f"{where}: messages[{index}] must be an object with a string 'role'")
    return messages


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "nothing (the key is missing)"
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number" if isinstance(value, int | float) else type(value).__name__)


def _shown(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else _kind(value)
