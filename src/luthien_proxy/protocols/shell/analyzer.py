"""Walks a parsed command line the way a shell would run it and lists every simple command.

Kept while walking: variables (`a=cu; b=rl; $a$b`), the working directory (`cd ~ && cat .ssh/x`),
functions, aliases and what earlier commands wrote to files. Wrappers are removed (`sudo env X=1
nohup cmd` is `cmd`), and code handed to an interpreter is read in turn: `sh -c`, `eval`, `su -c`,
`ssh host cmd`, `find -exec`, `docker exec .. sh -c`, a pipeline's static output fed to `sh`
(`echo .. | base64 -d | sh`), a script written earlier and then run, and the shell commands or
decoded literals in `python -c`/`perl -e` code. Each nested reading is charged to the `Budget`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from luthien_proxy.protocols.shell import code as code_reading
from luthien_proxy.protocols.shell.budget import Budget
from luthien_proxy.protocols.shell.command import Arg, Command, Redirection, Run
from luthien_proxy.protocols.shell.launchers import launched, powershell_encoded, unwrap, xargs_items
from luthien_proxy.protocols.shell.lexer import Lit, Subst, Word
from luthien_proxy.protocols.shell.parser import (
    FunctionDef,
    Group,
    Pipeline,
    Redirect,
    Script,
    Simple,
    Stage,
    parse,
    parse_tokens,
)
from luthien_proxy.protocols.shell.paths import UNKNOWN, canonical
from luthien_proxy.protocols.shell.programs import Invocation, invocation, language_of, resolve_glob
from luthien_proxy.protocols.shell.static_eval import output, text
from luthien_proxy.protocols.shell.words import DEFAULT_ENV, Expander

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")
_DECODERS = {"base64", "base32", "xxd", "rev", "tr", "gunzip", "zcat", "gzip", "openssl", "printf"}
#: A program named by one of these paths is an installed program, not a script the command wrote.
_SYSTEM_BINS = ("/bin/", "/usr/bin/", "/usr/local/bin/", "/sbin/", "/usr/sbin/", "/opt/homebrew/bin/")


@dataclass
class Analysis:
    """Every command that would run, in order; syntax a shell would refuse; notable constructs."""

    commands: list[Command] = field(default_factory=list[Command])
    errors: list[str] = field(default_factory=list[str])
    notes: list[tuple[str, str]] = field(default_factory=list[tuple[str, str]])


def analyze(text_: str, budget: Budget, cwd: str | None = None) -> Analysis:
    """Read `text_` as bash would (in `cwd` when known); raises `TooMuchWork` beyond the budget."""
    analyzer = Analyzer(budget)
    analyzer.cwd = canonical(cwd) if cwd else None
    analyzer.run(text_, ())
    return analyzer.analysis


class Analyzer:
    """The state of one reading: a shell's variables, directory, functions and written files."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        self.env: dict[str, str] = dict(DEFAULT_ENV)
        self.cwd: str | None = None
        self.functions: dict[str, Stage] = {}
        self.aliases: dict[str, str] = {}
        self.expanding: set[str] = set()
        self.files: dict[str, str] = {}
        self.analysis = Analysis()
        self.depth = 0
        self.via: tuple[str, ...] = ()
        self.expander = Expander(self.env, self._substitute)

    def run(self, text_: str, via: tuple[str, ...]) -> None:
        """Read `text_` as a script reached `via` the given nesting (`("sh -c",)`)."""
        saved = self.via, self.depth
        self.via, self.depth = via, self.depth + 1
        try:
            script = parse(text_, self.budget, self.depth)
            self.analysis.errors.extend(script.errors)
            self._script(script, [])
        finally:
            self.via, self.depth = saved

    # --- structure -------------------------------------------------------------------------

    def _script(self, script: Script, stdin_from: list[Command]) -> bytes | None:
        outputs = [self._pipeline(p, stdin_from) for p in script.pipelines]
        if not outputs or any(o is None for o in outputs):
            return None
        return b"".join(o for o in outputs if o is not None)

    def _pipeline(self, pipeline: Pipeline, stdin_from: list[Command]) -> bytes | None:
        previous, data, decoder = stdin_from, None, ""
        for index, stage in enumerate(pipeline.stages):
            start = len(self.analysis.commands)
            previous, data, decoder = self._stage(stage, previous, data if index else None, decoder)
            if pipeline.background:
                for command in self.analysis.commands[start:]:
                    command.background = True
        return data

    def _stage(
        self, stage: Stage, stdin_from: list[Command], data: bytes | None, decoder: str
    ) -> tuple[list[Command], bytes | None, str]:
        if isinstance(stage, FunctionDef):
            self.functions[stage.name] = stage.body
            return [], None, ""
        if isinstance(stage, Group):
            start = len(self.analysis.commands)
            out = self._script(stage.body, stdin_from)
            commands = self.analysis.commands[start:]
            if stage.redirects:
                commands.append(self._record(Command([], [self._redirection(r) for r in stage.redirects])))
            return commands, out, ""
        command, out = self._simple(stage, stdin_from, data, decoder)
        if command is None:
            return [], None, ""
        if command.program in _DECODERS and out is not None:
            decoder = command.text(60)
        return [command], out, decoder

    def _simple(
        self, node: Simple, stdin_from: list[Command], data: bytes | None, decoder: str
    ) -> tuple[Command | None, bytes | None]:
        self.budget.count_command()
        words, assignments = node.words, dict[str, str]()
        while words and (split := _assignment(words[0])) is not None:
            assignments[split[0]] = self.expander.single(split[1]).text
            words = words[1:]
        argv = [arg for word in words for arg in self.expander.fields(word)]
        redirections = [self._redirection(r) for r in node.redirects]
        if not argv:
            self.env.update(assignments)
            if not redirections:
                return None, None
        stdin_text = next((r.body for r in reversed(redirections) if r.body is not None), None)
        return self.launch(argv, stdin_from, data, decoder, redirections, assignments, stdin_text)

    # --- one command ------------------------------------------------------------------------

    def launch(
        self,
        argv: list[Arg],
        stdin_from: list[Command],
        data: bytes | None = None,
        decoder: str = "",
        redirections: list[Redirection] | None = None,
        assignments: dict[str, str] | None = None,
        stdin_text: str | None = None,
    ) -> tuple[Command, bytes | None]:
        """Record the command `argv` would run, follow its effects and any code it runs."""
        argv, wrappers, env = unwrap(argv)
        if argv and argv[0].glob and (resolved := resolve_glob(argv[0].text)):
            argv, wrappers = [Arg(resolved), *argv[1:]], (*wrappers, "glob")
        if "xargs" in wrappers and data is not None:
            argv = [*argv, *xargs_items(argv, text(data))]
        command = Command(
            argv, redirections or [], list(stdin_from), stdin_text, wrappers, self.via, self.cwd,
            {**(assignments or {}), **env},
        )  # fmt: skip
        self._record(command)
        self._effects(command)
        content = output(command, data, ignore_writes=True)
        command.output = text(content) if content is not None else None
        for target in command.writes():
            self.files[target] = text(content) if content is not None else UNKNOWN
        if command.program == "tee":
            for arg in command.args:
                if not arg.startswith("-"):
                    self.files[canonical(arg, self.cwd)] = text(data) if data is not None else UNKNOWN
            content = data
        start = len(self.analysis.commands)
        self._nested(command, data, decoder)
        command.children = self.analysis.commands[start:]
        return command, None if command.writes() else content

    def _record(self, command: Command) -> Command:
        self.analysis.commands.append(command)
        return command

    def _effects(self, command: Command) -> None:
        """What a command changes for the ones after it: directory, variables, aliases."""
        program, args = command.program, command.argv[1:]
        if program in ("cd", "pushd"):
            target = next((a for a in args if not a.text.startswith("-") or a.text == "-"), None)
            if target is None:
                self.cwd = "~"
            else:
                self.cwd = (
                    UNKNOWN if target.text == "-" or target.unknown else canonical(target.text, self.cwd)
                )
        elif program in ("export", "declare", "typeset", "local", "readonly", "alias"):
            for arg in args:
                name, equals, value = arg.text.partition("=")
                if equals and _ASSIGNMENT.fullmatch(name + "="):
                    (self.aliases if program == "alias" else self.env)[name] = value
        elif program in ("unset", "read"):
            for arg in args:
                if not arg.text.startswith("-"):
                    self.env[arg.text] = UNKNOWN

    def _nested(self, command: Command, data: bytes | None, decoder: str) -> None:
        """Read the code `command` runs, if any, as the interpreter would."""
        program, args = command.program, command.argv[1:]
        has_stdin = bool(command.stdin_from) or command.stdin_text is not None or data is not None
        language = language_of(program)
        name = command.argv[0].text if command.argv else ""
        if language is not None:
            self._interpret(command, invocation(language, args, has_stdin), data, decoder)
        elif program in ("source", ".") and args:
            self._run_file(command, "shell", args[0])
        elif (embedded := launched(command)) is not None:
            how, code, argvs = embedded
            if code is not None:
                self._code(command, "shell", code[0], how, code[1])
            for argv in argvs:
                self._launch_nested(argv, how)
        elif name in self.functions:
            self._call_function(command, name, data)
        elif name in self.aliases and name not in self.expanding:
            self.expanding.add(name)
            self._code(command, "shell", " ".join([self.aliases[name], *(a.text for a in args)]), "alias", ())
            self.expanding.discard(name)
        elif "/" in name and not name.startswith(_SYSTEM_BINS):
            self._run_file(command, "file", command.argv[0])

    def _interpret(self, command: Command, call: Invocation, data: bytes | None, decoder: str) -> None:
        language = call.language
        if call.code is not None:
            code = call.code.text
            if language == "powershell":
                code = powershell_encoded(code) or code
            if not code and "xargs" in command.wrappers:
                command.runs = Run(language, stdin=True)
                return
            self._code(command, language, code, f"{command.program} -c", call.code.sources)
        elif call.file is not None:
            self._run_file(command, language, call.file)
        elif call.stdin:
            known = command.stdin_text if command.stdin_text is not None else text(data) if data else None
            command.runs = Run(language, code=known, stdin=True)
            if known is not None:
                self._read_code(language, known, decoder or f"{command.program} stdin")

    def _code(
        self, command: Command, language: str, code: str, how: str, sources: tuple[Command, ...]
    ) -> None:
        command.runs = Run(language, code=code, sources=sources)
        self._read_code(language, code, how)

    def _read_code(self, language: str, code: str, how: str) -> None:
        if not code.replace(UNKNOWN, "").strip():
            return  # nothing known to read: the check sees `runs.sources` instead
        via = (*self.via, how)
        if language in ("shell", "file"):
            self.run(code, via)
            return
        for line in code_reading.shell_commands(code):
            self.run(line, (*via, f"{language} shell call"))
        for decoded in code_reading.decoded_literals(code):
            saved = self.via
            self.via = (*via, "decoded literal")
            self._record(
                Command([Arg(language)], via=self.via, cwd=self.cwd, runs=Run(language, code=decoded))
            )
            self.via = saved
            self.run(decoded, (*via, "decoded literal"))

    def _run_file(self, command: Command, language: str, file: Arg) -> None:
        path = canonical(file.text, self.cwd)
        command.runs = Run(language, file=path, sources=file.sources)
        content = self.files.get(path)
        if content is not None and UNKNOWN not in content:
            self._read_code("shell" if language == "file" else language, content, f"script {path}")

    def _call_function(self, command: Command, name: str, data: bytes | None) -> None:
        if name in self.expanding:
            self.analysis.notes.append(("recursion", f"{name}() calls itself"))
            return
        self.expanding.add(name)
        saved = self.via
        self.via = (*self.via, f"function {name}")
        try:
            self._stage(self.functions[name], command.stdin_from, data, "")
        finally:
            self.via = saved
            self.expanding.discard(name)

    def _launch_nested(self, argv: list[Arg], how: str) -> None:
        saved = self.via
        self.via = (*self.via, how)
        try:
            self.budget.enter(self.depth + 1)
            self.launch(argv, [])
        finally:
            self.via = saved

    def _redirection(self, redirect: Redirect) -> Redirection:
        if redirect.target.heredoc:
            body = "".join(p.text for p in redirect.target.parts if isinstance(p, Lit))
            return Redirection(redirect.op, Arg(""), body)
        target = self.expander.single(redirect.target)
        if redirect.op == "<<<":
            return Redirection(redirect.op, target, target.text + "\n")
        return Redirection(redirect.op, Arg(canonical(target.text, self.cwd), target.glob, target.sources))

    def _substitute(self, subst: Subst) -> tuple[str, tuple[Command, ...]]:
        """A substitution's commands (read now, in a subshell) and its value: the static output of
        `$(..)` when it has one, else `UNKNOWN`; a process substitution is a `/dev/fd` path."""
        saved_env, saved_cwd, saved_via = dict(self.env), self.cwd, self.via
        self.depth += 1
        self.via = (*self.via, subst.kind + "..)")
        start = len(self.analysis.commands)
        try:
            script = parse_tokens(subst.tokens, self.budget, self.depth)
            out = self._script(script, [])
        finally:
            self.depth -= 1
            self.via, self.cwd = saved_via, saved_cwd
            self.env.clear()
            self.env.update(saved_env)
        commands = tuple(self.analysis.commands[start:])
        if subst.kind in ("<(", ">("):
            return "/dev/fd/63", commands
        return (text(out).rstrip("\n") if out is not None else UNKNOWN), commands


def _assignment(word: Word) -> tuple[str, Word] | None:
    first = word.parts[0] if word.parts else None
    if not isinstance(first, Lit) or first.quoted or not (match := _ASSIGNMENT.match(first.text)):
        return None
    return match.group(1), Word([Lit(first.text[match.end() :], False), *word.parts[1:]])
