"""One `luthien up` per data directory: a second one would overwrite the first one's logs and
config and share its SQLite file, so it refuses to start instead."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO

from luthien_proxy.control_plane import StartupError


def hold_data_dir(data_dir: Path) -> IO[str]:
    """Lock `data_dir` for this process's lifetime (the kernel drops the lock when it exits, however
    it exits); keep the returned file open. Raises `StartupError` if another process holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = (data_dir / "up.lock").open("a+")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "unknown"
        lock.close()
        raise StartupError(
            f"another `luthien up` (pid {holder}) is running from {data_dir.resolve().parent}; "
            "stop it first, or start this one from another directory"
        ) from None
    lock.truncate(0)
    lock.write(str(os.getpid()))
    lock.flush()
    return lock
