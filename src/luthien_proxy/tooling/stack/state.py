"""`.luthien/stack.json`: what a running `luthien up` started where, for `luthien status`.

Written once every child is healthy, removed when `luthien up` stops. It holds addresses, process
ids, the ids the children echo in their health answers and the backends' kinds — never a key.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from pathlib import Path
from typing import Any

STATE_FILE = "stack.json"


def state_path(data_dir: Path) -> Path:
    return data_dir / STATE_FILE


def write_state(data_dir: Path, state: dict[str, Any]) -> Path:
    """Write `state` (with this process's pid and the time) atomically; returns the file."""
    path = state_path(data_dir)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps({"pid": os.getpid(), "started_at": time.time(), **state}, indent=2))
    temporary.replace(path)
    return path


def remove_state(data_dir: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        state_path(data_dir).unlink()


def read_state(data_dir: Path) -> dict[str, Any] | None:
    """The state a `luthien up` wrote there, or None when there is none (or it is not readable)."""
    try:
        found = json.loads(state_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def process_alive(pid: object) -> bool:
    """Whether a process with this id exists (it may belong to another user)."""
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
