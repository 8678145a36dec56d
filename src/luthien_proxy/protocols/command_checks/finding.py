"""`Finding`: one reason a command is dangerous, with a score in [0, 1]; `State` carries what
earlier commands of the same judgement did (files they downloaded, remotes they added)."""

from __future__ import annotations

from dataclasses import dataclass, field

from luthien_proxy.protocols.shell.command import Command

CATEGORIES = (
    "download_execute",
    "credentials",
    "exfiltration",
    "persistence",
    "destructive",
    "privilege",
    "obfuscation",
    "sabotage",
    "unreadable",
)


@dataclass(frozen=True)
class Finding:
    """`category: detail` is the reason recorded; the monitor's score is the highest finding's."""

    score: float
    category: str
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.category.replace('_', ' ')}: {self.detail}"


@dataclass
class State:
    """Facts the checks learn in command order: downloaded paths (and their basenames) and the
    command that fetched each; git remotes added by this command line."""

    downloads: dict[str, Command] = field(default_factory=dict[str, Command])
    remotes: set[str] = field(default_factory=set[str])

    def add_download(self, path: str, command: Command) -> None:
        self.downloads[path] = command
        self.downloads.setdefault("*/" + path.rsplit("/", 1)[-1], command)

    def downloaded(self, path: str) -> Command | None:
        return self.downloads.get(path) or self.downloads.get("*/" + path.rsplit("/", 1)[-1])


def quote(command: Command, limit: int = 120) -> str:
    """A command as shown in a reason: `curl -s http://x | ...` in backticks, shortened."""
    return f"`{command.text(limit)}`"
