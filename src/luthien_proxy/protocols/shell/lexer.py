"""Splits a shell command line into words and operators as bash does, in one linear pass.

Quotes and escapes are removed as the shell removes them; `$'..'` is decoded; parameter
expansions, `$(..)`, backticks and `<(..)` stay as parts of their word (their insides lexed too),
so the analyzer can resolve them. Here-document bodies become the word after `<<`. Literal runs
are matched by character classes without alternation, so no expression can backtrack.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from luthien_proxy.protocols.shell.budget import Budget
from luthien_proxy.protocols.shell.escapes import ansi_c

_LITERAL = re.compile(r"[^\s\\'\"$`;&|<>()]+")
_DQ_LITERAL = re.compile(r"[^\"\\$`]+")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL_PARAMS = set("0123456789@*#?$!-")
_OPS = ("&>>", "<<<", "<<-", ";;&", "&&", "||", ";;", ";&", "|&", ">>", "<<", "<&", ">&", "<>", ">|", "&>")
_OP_CHARS = set(";&|<>()\n")
_BREAK = set(" \t\n;&|<>()")
_DEFAULT_OPS = (":-", ":=", ":+", ":?", "-", "=", "+", "?")


@dataclass(frozen=True)
class Lit:
    """Literal text; `quoted` text is never split or globbed."""

    text: str
    quoted: bool


@dataclass(frozen=True)
class Param:
    """`$name` or `${name<op><arg>}`; `arg` is lexed for the default forms (`${x:-$(cmd)}`)."""

    name: str
    quoted: bool
    op: str = ""
    arg: str = ""
    arg_parts: tuple[Part, ...] = ()


@dataclass(frozen=True)
class Subst:
    """A command (`$(..)`, backticks) or process (`<(..)`, `>(..)`) substitution."""

    tokens: tuple[Token, ...]
    kind: str
    quoted: bool


Part = Lit | Param | Subst


@dataclass
class Word:
    """One shell word as its parts; a here-document's body is a word with `heredoc` set."""

    parts: list[Part] = field(default_factory=list[Part])
    heredoc: bool = False

    def literal(self) -> str:
        """The word's text with expansions left as they were written (`$x`)."""
        return "".join(
            p.text if isinstance(p, Lit) else f"${p.name}" if isinstance(p, Param) else "$(..)"
            for p in self.parts
        )


@dataclass(frozen=True)
class Op:
    """An operator: `;`, `&&`, `|`, a newline, a redirection (`>`, `2>>`, `<<<`), or a parenthesis."""

    text: str


Token = Word | Op


class Lexer:
    """One pass over `text`; `errors` lists what a shell would refuse (an unterminated quote)."""

    def __init__(self, text: str, budget: Budget, depth: int = 0) -> None:
        budget.spend(len(text))
        budget.enter(depth)
        self.text, self.pos, self.budget, self.depth = text, 0, budget, depth
        self.errors: list[str] = []
        self._pending: list[tuple[Word, str, bool]] = []  # here-documents waiting for their body

    def tokens(self) -> list[Token]:
        return self._lex(until_paren=False)

    def _lex(self, until_paren: bool) -> list[Token]:
        text, out, parens = self.text, list[Token](), 0
        while True:
            while self.pos < len(text) and text[self.pos] in " \t":
                self.pos += 1
            if text.startswith("\\\n", self.pos):
                self.pos += 2
                continue
            if self.pos >= len(text):
                if until_paren:
                    self.errors.append("unterminated substitution")
                return out
            c = text[self.pos]
            if c == "#":
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif c == "\n":
                self.pos += 1
                out.append(Op("\n"))
                self._read_heredocs()
            elif c == ")" and until_paren and parens == 0:
                self.pos += 1
                return out
            elif op := self._operator():
                parens += (op == "(") - (op == ")")
                out.append(Op(op))
                if op in ("<<", "<<-"):
                    out.append(self._heredoc(strip_tabs=op == "<<-"))
            else:
                out.append(self._word())

    def _operator(self) -> str | None:
        text, pos = self.text, self.pos
        if text.startswith(("<(", ">("), pos):
            return None  # a process substitution is a word
        digits = pos
        while digits < len(text) and text[digits].isdigit():
            digits += 1
        if digits > pos and (digits >= len(text) or text[digits] not in "<>"):
            return None
        for op in _OPS:
            if text.startswith(op, digits):
                self.pos = digits + len(op)
                return text[pos : self.pos]
        if digits < len(text) and text[digits] in _OP_CHARS:
            self.pos = digits + 1
            return text[pos : self.pos]
        return None

    def _word(self) -> Word:
        text, parts = self.text, list[Part]()
        while self.pos < len(text):
            c = text[self.pos]
            if c in ("<", ">") and text.startswith("(", self.pos + 1):
                self.pos += 2
                parts.append(Subst(tuple(self._nested()), c + "(", False))
            elif c in _BREAK:
                break
            elif c == "\\":
                if text.startswith("\n", self.pos + 1):
                    self.pos += 2
                    continue
                parts.append(Lit(text[self.pos + 1 : self.pos + 2] or "\\", True))
                self.pos += 2
            elif c == "'":
                end = text.find("'", self.pos + 1)
                if end < 0:
                    self.errors.append("unterminated single quote")
                    end = len(text)
                parts.append(Lit(text[self.pos + 1 : end], True))
                self.pos = end + 1
            elif c == '"':
                self.pos += 1
                parts.extend(self._double_quoted())
            elif c == "$":
                parts.append(self._dollar(quoted=False))
            elif c == "`":
                parts.append(self._backtick(quoted=False))
            else:
                match = _LITERAL.match(text, self.pos)
                end = match.end() if match else self.pos + 1
                parts.append(Lit(text[self.pos : end], False))
                self.pos = end
        return Word(parts)

    def _double_quoted(self) -> list[Part]:
        text, parts = self.text, list[Part]()
        while self.pos < len(text):
            c = text[self.pos]
            if c == '"':
                self.pos += 1
                return parts
            if c == "\\":
                nxt = text[self.pos + 1 : self.pos + 2]
                if nxt == "\n":
                    pass
                elif nxt and nxt in '$`"\\':
                    parts.append(Lit(nxt, True))
                else:
                    parts.append(Lit("\\" + nxt, True))
                self.pos += 2
            elif c == "$":
                parts.append(self._dollar(quoted=True))
            elif c == "`":
                parts.append(self._backtick(quoted=True))
            else:
                match = _DQ_LITERAL.match(text, self.pos)
                end = match.end() if match else self.pos + 1
                parts.append(Lit(text[self.pos : end], True))
                self.pos = end
        self.errors.append("unterminated double quote")
        return parts

    def _dollar(self, quoted: bool) -> Part:
        text, pos = self.text, self.pos
        nxt = text[pos + 1 : pos + 2]
        if nxt == "'" and not quoted:
            end = pos + 2
            while end < len(text) and text[end] != "'":
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                self.errors.append("unterminated $'..' quote")
            self.pos = end + 1
            return Lit(ansi_c(text[pos + 2 : min(end, len(text))]), True)
        if nxt == '"' and not quoted:  # `$".."` (locale translation) is a double-quoted string
            self.pos += 1
            return Lit("", True)
        if text.startswith("((", pos + 1):
            self.pos = self._matching(pos + 3, "(", ")", depth=2)
            return Param("((", quoted, "arith")
        if nxt == "(":
            self.pos += 2
            return Subst(tuple(self._nested()), "$(", quoted)
        if nxt == "{":
            end = self._matching(pos + 2, "{", "}", depth=1)
            self.pos = end
            return self._braced(text[pos + 2 : end - 1], quoted)
        if match := _NAME.match(text, pos + 1):
            self.pos = match.end()
            return Param(match.group(), quoted)
        if nxt and nxt in _SPECIAL_PARAMS:
            self.pos += 2
            return Param(nxt, quoted)
        self.pos += 1
        return Lit("$", quoted)

    def _braced(self, body: str, quoted: bool) -> Param:
        """`${..}`: the name (with `#` or `!` prefix), then the operator and its argument."""
        prefix = body[:1] if body[:1] in ("#", "!") and len(body) > 1 else ""
        rest = body[len(prefix) :]
        match = _NAME.match(rest)
        name = match.group() if match else rest[:1]
        tail = rest[len(name) :]
        if not tail:
            return Param(prefix + name, quoted)
        for op in _DEFAULT_OPS:
            if tail.startswith(op):
                sub = Lexer(tail[len(op) :], self.budget, self.depth + 1)
                parts = tuple(sub._double_quoted_all())
                return Param(name, quoted, op, tail[len(op) :], parts)
        if tail[0] == ":":
            return Param(name, quoted, "substr", tail[1:])
        for op in ("##", "#", "%%", "%", "//", "/", "^^", "^", ",,", ","):
            if tail.startswith(op):
                return Param(name, quoted, op, tail[len(op) :])
        return Param(name, quoted, "other", tail)

    def _double_quoted_all(self) -> list[Part]:
        """Lex the whole text as if inside double quotes (a default value's expansions)."""
        self.text += '"'
        return self._double_quoted()

    def _backtick(self, quoted: bool) -> Subst:
        text, chars = self.text, list[str]()
        i = self.pos + 1
        while i < len(text) and text[i] != "`":
            if text[i] == "\\" and text[i + 1 : i + 2] in ("`", "\\", "$"):
                i += 1
            chars.append(text[i])
            i += 1
        if i >= len(text):
            self.errors.append("unterminated backtick")
        self.pos = i + 1
        sub = Lexer("".join(chars), self.budget, self.depth + 1)
        tokens = sub.tokens()
        self.errors.extend(sub.errors)
        return Subst(tuple(tokens), "`", quoted)

    def _nested(self) -> list[Token]:
        self.depth += 1
        self.budget.enter(self.depth)
        try:
            return self._lex(until_paren=True)
        finally:
            self.depth -= 1

    def _matching(self, start: int, opening: str, closing: str, depth: int) -> int:
        """The index after the bracket closing a group opened `depth` times before `start`."""
        text, i = self.text, start
        while i < len(text):
            c = text[i]
            if c == "\\":
                i += 1
            elif c == opening:
                depth += 1
            elif c == closing:
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        self.errors.append(f"unterminated {opening}")
        return len(text)

    def _heredoc(self, strip_tabs: bool) -> Word:
        while self.pos < len(self.text) and self.text[self.pos] in " \t":
            self.pos += 1
        delimiter = self._word()
        body = Word(heredoc=True)
        self._pending.append(
            (body, "".join(p.text for p in delimiter.parts if isinstance(p, Lit)), strip_tabs)
        )
        return body

    def _read_heredocs(self) -> None:
        text = self.text
        for body, delimiter, strip_tabs in self._pending:
            lines: list[str] = []
            while self.pos < len(text):
                end = text.find("\n", self.pos)
                end = len(text) if end < 0 else end
                line = text[self.pos : end]
                self.pos = min(end + 1, len(text))
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
                lines.append(line.lstrip("\t") if strip_tabs else line)
            body.parts.append(Lit("\n".join(lines) + "\n", True))
        self._pending.clear()
