"""Expands a lexed word as bash would — parameters, substitutions, `~`, field splitting, braces.

Variables the command itself assigned are known (`a=cu; b=rl; $a$b`), as are bash's own
(`${PATH:0:1}` is `/`); anything else is `UNKNOWN`, never guessed. A substitution's value comes
from the analyzer (its static output, such as a decoded base64 string, when there is one).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, MutableMapping

from luthien_proxy.protocols.shell.command import Arg, Command
from luthien_proxy.protocols.shell.lexer import Lit, Param, Part, Subst, Word
from luthien_proxy.protocols.shell.paths import HOME, UNKNOWN

Substitute = Callable[[Subst], tuple[str, tuple[Command, ...]]]
DEFAULT_ENV = {
    "HOME": HOME,
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "IFS": " \t\n",
    "USER": "user",
    "LOGNAME": "user",
    "SHELL": "/bin/bash",
}
_MAX_BRACE_WORDS = 64


class Expander:
    """Expands words against `env` (updated by `:=` forms), splicing substitutions via `substitute`."""

    def __init__(self, env: MutableMapping[str, str], substitute: Substitute) -> None:
        self.env, self.substitute = env, substitute

    def fields(self, word: Word) -> list[Arg]:
        """The arguments `word` becomes: usually one, more after splitting or brace expansion."""
        done: list[Arg] = []
        text: list[str] = []
        glob = brace = False
        sources: list[Command] = []
        params: list[str] = []

        def flush() -> None:
            done.append(Arg("".join(text), glob, tuple(sources), tuple(params)))

        for index, part in enumerate(word.parts):
            if isinstance(part, Lit):
                literal = part.text
                if not part.quoted:
                    if index == 0:
                        literal = _tilde(literal)
                    glob = glob or any(c in literal for c in "*?[")
                    brace = brace or "{" in literal
                text.append(literal)
                continue
            value, spliced = self.value(part)
            sources.extend(spliced)
            if isinstance(part, Param) and UNKNOWN in value:
                params.append(part.name)
            if part.quoted or not value:
                text.append(value)
                continue
            ifs = self.env.get("IFS", " \t\n")
            pieces = split_fields(value, ifs)
            if not pieces:
                continue
            if value[:1] in ifs and text:
                flush()
                text = []
            text.append(pieces[0])
            for piece in pieces[1:]:
                flush()
                text = [piece]
            if value[-1:] in ifs:
                flush()
                text = []
        if text or not done:
            flush()
        if brace:
            done = [Arg(t, a.glob, a.sources, a.params) for a in done for t in expand_braces(a.text)]
        return done

    def single(self, word: Word) -> Arg:
        """`word` as one argument, never split (assignment values, redirection targets)."""
        text: list[str] = []
        sources: list[Command] = []
        params: list[str] = []
        glob = False
        for index, part in enumerate(word.parts):
            if isinstance(part, Lit):
                literal = _tilde(part.text) if index == 0 and not part.quoted else part.text
                glob = glob or (not part.quoted and any(c in literal for c in "*?["))
                text.append(literal)
            else:
                value, spliced = self.value(part)
                sources.extend(spliced)
                if isinstance(part, Param) and UNKNOWN in value:
                    params.append(part.name)
                text.append(value)
        return Arg("".join(text), glob, tuple(sources), tuple(params))

    def value(self, part: Part) -> tuple[str, tuple[Command, ...]]:
        if isinstance(part, Subst):
            return self.substitute(part)
        if isinstance(part, Lit):
            return part.text, ()
        return self._param(part)

    def _param(self, part: Param) -> tuple[str, tuple[Command, ...]]:
        name, op = part.name, part.op
        if name.startswith("#") and len(name) > 1:
            known = self.env.get(name[1:])
            return (str(len(known)) if known is not None and UNKNOWN not in known else UNKNOWN), ()
        current = self.env.get(name)
        if op in (":-", "-", ":=", "=", ":+", "+"):
            is_set = current is not None and (op in ("-", "=", "+") or current != "")
            if op in (":+", "+"):
                return self._default(part) if is_set else ("", ())
            if is_set and current is not None:
                return current, ()
            value, sources = self._default(part)
            if op in (":=", "="):
                self.env[name] = value
            return value, sources
        if current is None or UNKNOWN in current:
            return UNKNOWN, ()
        return _transform(current, op, part.arg), ()

    def _default(self, part: Param) -> tuple[str, tuple[Command, ...]]:
        values = [self.value(p) for p in part.arg_parts]
        return "".join(v for v, _ in values), tuple(c for _, s in values for c in s)


def split_fields(value: str, ifs: str) -> list[str]:
    """`value` split on the characters of `IFS` (`IFS=_; c=rm_-rf_/; $c` is `rm -rf /`)."""
    if ifs == " \t\n" or not ifs:
        return value.split()
    pieces, current = [], []
    for c in value:
        if c in ifs:
            if current:
                pieces.append("".join(current))
            current = []
        else:
            current.append(c)
    if current:
        pieces.append("".join(current))
    return pieces


def _tilde(literal: str) -> str:
    if not literal.startswith("~"):
        return literal
    slash = literal.find("/")
    user = literal[1:slash] if slash >= 0 else literal[1:]
    if user and not user.replace("-", "").replace("_", "").replace(".", "").isalnum():
        return literal
    return HOME + (literal[slash:] if slash >= 0 else "")


def _transform(value: str, op: str, arg: str) -> str:
    """The `${name<op>arg}` forms whose result does not depend on globbing."""
    if op == "":
        return value
    if op == "substr":
        offset, _, length = arg.partition(":")
        try:
            start = int(offset.strip() or 0)
            begin = start if start >= 0 else max(len(value) + start, 0)
            if not length.strip():
                return value[begin:]
            count = int(length.strip())
            return value[begin : begin + count] if count >= 0 else value[begin : len(value) + count]
        except ValueError:
            return UNKNOWN
    if op in ("^^", ",,", "^", ","):
        changed = value.upper() if op.startswith("^") else value.lower()
        return changed if len(op) == 2 else changed[:1] + value[1:]
    if any(c in arg for c in "*?[\\"):
        return UNKNOWN
    if op in ("#", "##"):
        return value.removeprefix(arg)
    if op in ("%", "%%"):
        return value.removesuffix(arg)
    if op in ("/", "//"):
        pattern, _, replacement = arg.partition("/")
        if not pattern:
            return value
        return value.replace(pattern, replacement, -1 if op == "//" else 1)
    return UNKNOWN


def expand_braces(text: str) -> list[str]:
    """Bash brace expansion (`/etc/{passwd,shadow}`, `{1..3}`), capped at a few dozen words."""
    if len(text) > 4096:  # finding a group is linear per brace: bound the work on hostile words
        return [text]
    results, pending = [], [text]
    while pending and len(results) + len(pending) <= _MAX_BRACE_WORDS:
        item = pending.pop(0)
        span = _brace_span(item)
        if span is None:
            results.append(item)
            continue
        start, end, choices = span
        pending.extend(item[:start] + choice + item[end + 1 :] for choice in choices)
    return results + pending


def _brace_span(text: str) -> tuple[int, int, list[str]] | None:
    """The first `{a,b}` or `{x..y}` group: its bounds and alternatives."""
    start = text.find("{")
    while 0 <= start < len(text):
        depth, commas = 0, [start]
        for end in range(start, len(text)):
            c = text[end]
            depth += (c == "{") - (c == "}")
            if c == "," and depth == 1:
                commas.append(end)
            if depth == 0:
                body = text[start + 1 : end]
                if len(commas) > 1:
                    commas.append(end)
                    return start, end, [text[a + 1 : b] for a, b in itertools.pairwise(commas)]
                low, dots, high = body.partition("..")
                if dots and low.isdigit() and high.isdigit() and abs(int(high) - int(low)) < 64:
                    step = 1 if int(high) >= int(low) else -1
                    return start, end, [str(n) for n in range(int(low), int(high) + step, step)]
                if dots and len(low) == len(high) == 1 and low.isalpha() and high.isalpha():
                    step = 1 if high >= low else -1
                    return start, end, [chr(n) for n in range(ord(low), ord(high) + step, step)]
                break
        start = text.find("{", start + 1)
    return None
