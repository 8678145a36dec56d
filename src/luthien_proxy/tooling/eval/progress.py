"""A plain-text progress bar on stderr: redrawn in place on a terminal, a line per tenth elsewhere
(a CI log must not get one line per step)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30


class ProgressBar:
    """`bar(done, total)` after each step; `bar.finish()` ends the line."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.interactive = self.stream.isatty()
        self.started = time.perf_counter()
        self._last_tenth = -1

    def __call__(self, done: int, total: int) -> None:
        tenth = done * 10 // total if total else 10
        if not self.interactive and tenth == self._last_tenth:
            return
        self._last_tenth = tenth
        filled = done * WIDTH // total if total else WIDTH
        elapsed = time.perf_counter() - self.started
        line = f"{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] {done}/{total} {elapsed:.1f}s"
        self.stream.write(f"\r{line}" if self.interactive else f"{line}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.interactive:
            self.stream.write("\n")
            self.stream.flush()
