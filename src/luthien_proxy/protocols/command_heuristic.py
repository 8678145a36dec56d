"""The command monitor's fallback reading of a tool it has no `shell_tools`/`file_tools` entry for:
commands and paths found by argument key and by how the tool is named (`fallback: heuristic`)."""

from __future__ import annotations

import json
import shlex
from typing import Any, cast

from luthien_proxy.protocols.toolcalls import ToolCall

#: Argument keys whose value is a command line (a string) or an argv (a list of strings).
COMMAND_KEYS = ("command", "cmd", "commands", "script", "bash_command", "shell_command", "argv", "args")
CWD_KEYS = ("workdir", "cwd", "working_directory", "directory")
PATH_KEYS = ("file_path", "path", "filepath", "filename", "notebook_path", "target_file", "file")
_SHELL_TOOL_WORDS = ("bash", "shell", "exec", "run", "terminal", "command", "cmd", "console", "zsh", "sh")
_WRITE_TOOL_WORDS = (
    "write",
    "edit",
    "create",
    "replace",
    "insert",
    "patch",
    "append",
    "save",
    "delete",
    "move",
)
#: How many times a string holding JSON is decoded and read in turn.
NESTED_JSON_DEPTH = 3


def heuristic_extract(call: ToolCall) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The command lines (with a working directory when the call names one) and the file paths
    in `call`'s decoded arguments. A shell-like tool's every string is a command."""
    parsed = call.parsed_arguments()
    shell_tool = shell_like(call.name)
    if isinstance(parsed, str):  # a custom tool's free text
        return ([(parsed, None)] if shell_tool else []), []
    commands: list[tuple[str, str | None]] = []
    paths: list[str] = []
    pending: list[tuple[Any, str, int, str | None]] = [(parsed, "", 0, None)]
    while pending:
        value, key, depth, cwd = pending.pop()
        if isinstance(value, dict):
            mapping = cast("dict[str, Any]", value)
            here = next((mapping[k] for k in CWD_KEYS if isinstance(mapping.get(k), str)), cwd)
            pending.extend((v, str(k).lower(), depth, here) for k, v in mapping.items())
        elif isinstance(value, list):
            items = cast("list[Any]", value)
            if items and all(isinstance(i, str) for i in items) and (key in COMMAND_KEYS or shell_tool):
                commands.append((shlex.join(items), cwd))
            else:
                pending.extend((item, key, depth, cwd) for item in items)
        elif isinstance(value, str):
            if depth < NESTED_JSON_DEPTH and value.lstrip()[:1] in ("{", "["):
                try:
                    pending.append((json.loads(value), key, depth + 1, cwd))
                    continue
                except (ValueError, RecursionError):
                    pass
            if key in COMMAND_KEYS or (shell_tool and key not in CWD_KEYS and key not in PATH_KEYS):
                commands.append((value, cwd))
            elif key in PATH_KEYS:
                paths.append(value)
    return commands, paths


def shell_like(name: str) -> bool:
    """Whether a tool's name says it runs shell commands (`Bash`, `run_shell`, `exec_command`, ...)."""
    lowered = name.lower()
    words = lowered.replace("-", "_").replace(".", "_").split("_")
    return any(w in _SHELL_TOOL_WORDS for w in words) or any(w in lowered for w in ("bash", "shell", "exec"))


def writes_files(name: str) -> bool:
    """Whether a file tool's name says it changes the file (`Write`, `Edit`, `apply_patch`, ...)."""
    lowered = name.lower()
    return any(w in lowered for w in _WRITE_TOOL_WORDS)
