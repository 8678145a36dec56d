"""Interpreters and how they are asked to run code (`sh -c`, `python -c`, `perl -e`, a script file,
standard input), option skipping shared with the wrappers, and globbed program names."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from luthien_proxy.protocols.shell.command import Arg

SHELLS = frozenset(
    {"sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "fish", "tcsh", "csh", "rbash", "yash"}
)
#: Interpreters: (flags whose value is code, short options taking a value, long options taking a value).
_LANGUAGES: dict[str, tuple[frozenset[str], str, frozenset[str]]] = {
    "shell": (frozenset({"-c"}), "oO", frozenset({"--rcfile", "--init-file"})),
    "python": (frozenset({"-c"}), "WXm", frozenset({"--check-hash-based-pycs"})),
    "perl": (frozenset({"-e", "-E"}), "IMmxl", frozenset()),
    "ruby": (frozenset({"-e"}), "IrCEF", frozenset({"--encoding"})),
    "node": (
        frozenset({"-e", "--eval", "-p", "--print"}),
        "r",
        frozenset({"--require", "--import", "--loader"}),
    ),
    "php": (frozenset({"-r"}), "dcz", frozenset()),
    "lua": (frozenset({"-e"}), "l", frozenset()),
    "powershell": (
        frozenset({"-c", "-command", "-encodedcommand", "-enc", "-e", "-ec"}),
        "",
        frozenset({"-executionpolicy", "-ep", "-windowstyle", "-w"}),
    ),
    "r": (frozenset({"-e"}), "", frozenset()),
    "osascript": (frozenset({"-e"}), "l", frozenset()),
    "awk": (frozenset(), "fFv", frozenset()),
}
_PROGRAM_LANGUAGE = re.compile(
    r"(?P<python>python[0-9.]*|pypy[0-9.]*)|(?P<perl>perl[0-9.]*)|(?P<ruby>ruby[0-9.]*|jruby)"
    r"|(?P<node>node(js)?|bun|deno)|(?P<php>php[0-9.]*)|(?P<lua>lua(jit)?[0-9.]*)"
    r"|(?P<powershell>pwsh|powershell(\.exe)?)|(?P<r>rscript)|(?P<osascript>osascript)|(?P<awk>[gmn]?awk)"
)
#: Programs a glob in a command's name (`/???/b??h`) is resolved against, most dangerous first.
KNOWN_PROGRAMS = (
    "bash", "sh", "zsh", "dash", "curl", "wget", "nc", "ncat", "netcat", "socat", "python3", "python",
    "perl", "ruby", "node", "php", "rm", "dd", "mkfs", "shred", "chmod", "chown", "crontab", "base64",
    "xxd", "cat", "scp", "rsync", "ssh", "openssl", "telnet", "tee", "cp", "mv",
)  # fmt: skip


@dataclass(frozen=True)
class Invocation:
    """How an interpreter was asked to run code: from an argument, a file, or standard input."""

    language: str
    code: Arg | None = None
    file: Arg | None = None
    stdin: bool = False


def language_of(program: str) -> str | None:
    if program in SHELLS:
        return "shell"
    match = _PROGRAM_LANGUAGE.fullmatch(program) if len(program) < 32 else None
    return match.lastgroup if match else None


def skip_options(args: list[Arg], value_short: str, value_long: frozenset[str], positional: int = 0) -> int:
    """The index in `args` where the wrapped command starts, after options and `positional` words."""
    i = 0
    while i < len(args):
        text = args[i].text
        if text == "--":
            i += 1
            break
        if text.startswith("--") and len(text) > 2:
            i += 2 if text in value_long else 1
        elif text.startswith("-") and len(text) > 1 and not text[1:].isdigit():
            takes = next((k for k, c in enumerate(text[1:], 1) if c in value_short), None)
            i += 2 if takes == len(text) - 1 else 1
        elif text.startswith("-"):
            i += 1  # `nice -10`
        else:
            break
    return min(i + positional, len(args))


def resolve_glob(name: str) -> str | None:
    """The known program a globbed command name would most dangerously run (`/???/b?sh` is bash)."""
    base = name.rsplit("/", 1)[-1]
    if len(base) > 64:
        return None
    return next((p for p in KNOWN_PROGRAMS if fnmatch.fnmatchcase(p, base)), None)


def invocation(language: str, args: list[Arg], has_stdin: bool) -> Invocation:
    """How `args` (after the interpreter's name) ask it to run code."""
    code_flags, value_short, value_long = _LANGUAGES[language]
    i = 0
    while i < len(args):
        text = args[i].text
        lowered = text.lower() if language == "powershell" else text
        if text == "--":
            i += 1
            break
        if lowered in code_flags:
            return Invocation(language, code=args[i + 1] if i + 1 < len(args) else Arg(""))
        if not text.startswith("-") or text == "-" or (language == "shell" and text.startswith("+")):
            if text.startswith("+"):
                i += 2
                continue
            break
        short = {f[1] for f in code_flags if len(f) == 2}
        if not text.startswith("--") and language != "powershell":
            letters = text[1:]
            # The first letter that is a code flag or takes a value decides the rest of the cluster.
            hit = next((k for k, c in enumerate(letters) if c in short or c in value_short), None)
            if language == "shell" and "s" in letters[: hit if hit is not None else len(letters)]:
                return Invocation(language, stdin=True)  # `sh -s -- args`: the script is stdin
            if hit is not None and letters[hit] in short:
                rest = letters[hit + 1 :]
                if rest and language != "shell":  # `-cprint(1)`, `-e'system "x"'`
                    return Invocation(language, code=Arg(rest, sources=args[i].sources))
                return Invocation(language, code=_next_operand(args, i + 1) or Arg(""))
            if hit is not None and hit == len(letters) - 1:
                i += 1  # the value is the next argument
        elif lowered in value_long:
            i += 1
        i += 1
    if language == "awk":
        return Invocation(language, code=args[i] if i < len(args) else None)
    if i < len(args) and args[i].text != "-":
        return Invocation(language, file=args[i])
    return Invocation(language, stdin=has_stdin or i < len(args))


def _next_operand(args: list[Arg], start: int) -> Arg | None:
    """bash takes the code of `-c` from its first operand, even after more options (`-c -x code`)."""
    for arg in args[start:]:
        if not arg.text.startswith("-"):
            return arg
    return None
