"""What the analyzer reports for each simple command that would run, resolved as far as it can be."""

from __future__ import annotations

from dataclasses import dataclass, field

from luthien_proxy.protocols.shell.paths import UNKNOWN


@dataclass(frozen=True)
class Arg:
    """One argument after expansion: its text (`UNKNOWN` marks what cannot be known), whether it
    was an unquoted glob, and the commands whose output was spliced into it (`$(..)`, `<(..)`)."""

    text: str
    glob: bool = False
    sources: tuple[Command, ...] = ()
    params: tuple[str, ...] = ()  # names of the variables whose unknown values are in `text`

    @property
    def unknown(self) -> bool:
        return UNKNOWN in self.text


@dataclass(frozen=True)
class Redirection:
    """A redirection resolved: `op` as written, the target path (or a here-document's body)."""

    op: str
    target: Arg
    body: str | None = None

    @property
    def writes(self) -> bool:
        return ">" in self.op and not self.op.endswith("&") and "<" not in self.op

    @property
    def reads(self) -> bool:
        return self.op in ("<", "0<", "<>")


@dataclass(frozen=True)
class Run:
    """Code a command runs: `language` (`shell`, `python`, ...), and where the code comes from —
    literal `code`, a `file`, or standard input (`stdin`), possibly spliced from `sources`."""

    language: str
    code: str | None = None
    file: str | None = None
    stdin: bool = False
    sources: tuple[Command, ...] = ()


@dataclass(eq=False)
class Command:
    """A simple command as it would run: wrappers such as `sudo`/`env` removed, arguments expanded."""

    argv: list[Arg]
    redirections: list[Redirection] = field(default_factory=list[Redirection])
    stdin_from: list[Command] = field(default_factory=list["Command"])
    stdin_text: str | None = None
    wrappers: tuple[str, ...] = ()
    via: tuple[str, ...] = ()
    cwd: str | None = None
    assignments: dict[str, str] = field(default_factory=dict[str, str])
    runs: Run | None = None
    children: list[Command] = field(default_factory=list["Command"])
    background: bool = False
    output: str | None = None  # what it prints or writes, when that is known without running it

    @property
    def program(self) -> str:
        """The program's name: its path's last part, lower case (macOS and Windows ignore case)."""
        return self.argv[0].text.rsplit("/", 1)[-1].lower() if self.argv else ""

    @property
    def args(self) -> list[str]:
        return [a.text for a in self.argv[1:]]

    @property
    def privileged(self) -> bool:
        return any(w in ("sudo", "doas", "su", "pkexec", "runuser") for w in self.wrappers)

    def text(self, limit: int = 160) -> str:
        """The command as a short line for a reason (`curl -s http://x/a.sh`)."""
        line = " ".join(a.text.replace(UNKNOWN, "$?") for a in self.argv)
        line += "".join(f" {r.op} {r.target.text}" for r in self.redirections if r.body is None)
        return line if len(line) <= limit else line[: limit - 1] + "…"

    def writes(self) -> list[str]:
        """Paths this command's redirections write to."""
        return [r.target.text for r in self.redirections if r.writes]

    def feeders(self, limit: int = 64) -> list[Command]:
        """Every command whose output reaches this one's input, through pipes and nested code."""
        found: list[Command] = []
        pending = list(self.stdin_from)
        while pending and len(found) < limit:
            command = pending.pop()
            found.append(command)
            pending.extend(command.stdin_from)
            pending.extend(command.children)
        return found
