"""The last error this process logged, for `GET /api/status` and `luthien status`.

One logging handler on the `luthien_proxy` logger keeps the newest ERROR (or worse) record: its
time, logger, and message — redacted (secret shapes, URL credentials), without the traceback, and
cut to `MAX_MESSAGE_CHARS` — plus how many there were. Bounded: one record, whatever the rate.
"""

from __future__ import annotations

import logging
import re
import threading
from datetime import UTC, datetime
from typing import Any

from luthien_proxy.redaction import redact_text

MAX_MESSAGE_CHARS = 500
#: `scheme://user:password@host` → `scheme://***@host`: a URL's credentials never leave the process.
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)[^/@\s]+@")


def safe_message(text: str) -> str:
    """`text` as it may be shown: one line, no secret shapes or URL credentials, bounded."""
    line = " ".join(text.split())
    line = _URL_CREDENTIALS.sub(r"\g<scheme>***@", redact_text(line))
    return line if len(line) <= MAX_MESSAGE_CHARS else line[: MAX_MESSAGE_CHARS - 1] + "…"


class LastErrorHandler(logging.Handler):
    """Keeps the newest ERROR-or-worse record it sees (and a count), nothing else."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self._lock_last = threading.Lock()
        self._last: dict[str, Any] | None = None
        self._count = 0

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not lose the record
            message = str(record.msg)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            message = f"{message}: {type(exc).__name__}: {exc}"
        entry = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": safe_message(message),
        }
        with self._lock_last:
            self._last = entry
            self._count += 1

    def snapshot(self) -> dict[str, Any] | None:
        """The last error with the number logged so far (`count`), or None if there was none."""
        with self._lock_last:
            return None if self._last is None else {**self._last, "count": self._count}


#: The process's one recorder (the logger is process-wide, so the record is too).
LAST_ERROR = LastErrorHandler()


def install() -> LastErrorHandler:
    """Attach `LAST_ERROR` to the `luthien_proxy` logger (once, however many apps are built)."""
    logger = logging.getLogger("luthien_proxy")
    if LAST_ERROR not in logger.handlers:
        logger.addHandler(LAST_ERROR)
    return LAST_ERROR
