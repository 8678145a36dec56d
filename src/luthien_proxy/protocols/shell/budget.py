"""`Budget`: a cap on the work one judgement may do, so a hostile command costs linear time at most."""

from __future__ import annotations

from dataclasses import dataclass


class TooMuchWork(Exception):
    """The command needs more reading or nesting than the budget allows: judge it unreadable."""


@dataclass
class Budget:
    """Characters that may still be read and how deep nesting (`sh -c`, `$(..)`, decoding) may go."""

    chars: int
    max_depth: int = 12
    max_commands: int = 2000
    commands: int = 0

    def spend(self, count: int) -> None:
        self.chars -= count
        if self.chars < 0:
            raise TooMuchWork("more text to read than the budget allows")

    def enter(self, depth: int) -> None:
        if depth > self.max_depth:
            raise TooMuchWork(f"nested more than {self.max_depth} levels deep")

    def count_command(self) -> None:
        self.commands += 1
        if self.commands > self.max_commands:
            raise TooMuchWork(f"more than {self.max_commands} commands")
