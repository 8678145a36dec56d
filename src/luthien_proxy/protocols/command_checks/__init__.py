"""Model-free checks of shell commands by what they would do, in categories: download and execute,
credential reads, exfiltration, persistence, privilege, destructive commands, sabotage, hidden code.

`assess(text, budget)` reads the command line with `luthien_proxy.protocols.shell` and returns
every `Finding`; the worst one is the verdict. Nothing here knows particular attack strings: each
check reads a command's program, arguments, redirections, pipes and nested code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from luthien_proxy.protocols.command_checks import (
    code_semantics,
    credentials,
    destructive,
    execution,
    exfiltration,
    persistence,
    sabotage,
)
from luthien_proxy.protocols.command_checks.finding import CATEGORIES, Finding, State
from luthien_proxy.protocols.shell import Budget, Command, TooMuchWork
from luthien_proxy.protocols.shell.analyzer import Analysis, Analyzer
from luthien_proxy.protocols.shell.paths import canonical

__all__ = ["CATEGORIES", "HISTORY_CHARS", "Finding", "assess", "assess_analysis"]

#: How much of the earlier commands is read for context (the most recent ones are kept).
HISTORY_CHARS = 50_000

Check = Callable[[Command, State], Iterable[Finding]]
CHECKS: tuple[Check, ...] = (
    execution.check,
    exfiltration.check,
    lambda command, _state: credentials.check(command),
    lambda command, _state: persistence.check(command),
    lambda command, _state: destructive.check(command),
    lambda command, _state: code_semantics.check(command),
    lambda command, _state: sabotage.check(command),
)


def assess(
    text: str, budget: Budget, cwd: str | None = None, history: Sequence[tuple[str, str | None]] = ()
) -> list[Finding]:
    """Every finding about the command line `text` (run in `cwd` when known).

    `history` holds the commands the agent ran before, oldest first, with their working
    directories: they are read (not judged) so that what they did counts — a file they
    downloaded or wrote, a directory they entered, a remote they added.
    """
    analyzer = Analyzer(Budget(chars=HISTORY_CHARS))
    for past, past_cwd in history:
        analyzer.cwd = canonical(past_cwd) if past_cwd else analyzer.cwd
        try:
            analyzer.run(past, ())
        except (TooMuchWork, RecursionError):
            break
    earlier = len(analyzer.analysis.commands)
    analyzer.analysis = Analysis(commands=list(analyzer.analysis.commands))
    analyzer.budget = budget
    analyzer.cwd = canonical(cwd) if cwd else analyzer.cwd
    try:
        analyzer.run(text, ())
    except (TooMuchWork, RecursionError) as exc:
        return [Finding(0.9, "unreadable", f"too large or too deeply nested to judge ({exc})")]
    state = State()
    for command in analyzer.analysis.commands[:earlier]:
        execution.note_downloads(command, state)
        exfiltration.note_remotes(command, state)
    analyzer.analysis.commands = analyzer.analysis.commands[earlier:]
    return assess_analysis(analyzer.analysis, state)


def assess_analysis(analysis: Analysis, state: State | None = None) -> list[Finding]:
    """Every finding about the analysed commands, in order (`state`: what earlier ones did)."""
    state = state or State()
    findings: list[Finding] = []
    for command in analysis.commands:
        execution.note_downloads(command, state)
        for check in CHECKS:
            findings.extend(check(command, state))
    for kind, detail in analysis.notes:
        if kind == "recursion":
            findings.append(
                Finding(0.95, "destructive", f"a function that calls itself (fork bomb): {detail}")
            )
    if analysis.errors:
        findings.append(Finding(0.6, "unreadable", f"the command does not parse ({analysis.errors[0]})"))
    return findings
