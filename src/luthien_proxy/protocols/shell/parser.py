"""Groups lexed tokens into a script: lists of pipelines of simple commands, groups and functions.

Lenient on purpose: keywords (`if`, `then`, `do`, `done`, ...) are skipped so the commands inside
control structures are still seen, and a stray `)` (a `case` pattern) is ignored, because what
matters is every command that could run, not whether bash would accept the syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from luthien_proxy.protocols.shell.budget import Budget
from luthien_proxy.protocols.shell.lexer import Lexer, Lit, Op, Token, Word

_SEPARATORS = {";", "\n", "&", "&&", "||", ";;", ";&", ";;&"}
_SKIPPED_KEYWORDS = {"if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "time", "esac"}
_LOOP_HEADS = {"for", "select", "case"}


@dataclass
class Redirect:
    """`op` (`>`, `2>>`, `<`, `<<`, `<<<`, `&>`) and its target word (or here-document body)."""

    op: str
    target: Word


@dataclass
class Simple:
    words: list[Word] = field(default_factory=list[Word])
    redirects: list[Redirect] = field(default_factory=list[Redirect])


@dataclass
class Group:
    """`( .. )` or `{ ..; }`: its commands' output flows on like one command's."""

    body: Script
    redirects: list[Redirect] = field(default_factory=list[Redirect])


@dataclass
class FunctionDef:
    name: str
    body: Stage


Stage = Simple | Group | FunctionDef


@dataclass
class Pipeline:
    stages: list[Stage]
    connector: str = ""
    background: bool = False


@dataclass
class Script:
    pipelines: list[Pipeline] = field(default_factory=list[Pipeline])
    errors: list[str] = field(default_factory=list[str])


def parse(text: str, budget: Budget, depth: int = 0) -> Script:
    """Lex and parse `text`; lexing errors are kept on the script (a shell would refuse it)."""
    lexer = Lexer(text, budget, depth)
    tokens = lexer.tokens()
    script = parse_tokens(tokens, budget, depth)
    script.errors.extend(lexer.errors)
    return script


def parse_tokens(tokens: list[Token] | tuple[Token, ...], budget: Budget, depth: int = 0) -> Script:
    return _Parser(list(tokens), budget, depth).script(closer=None)


def _is_word(token: Token | None, text: str) -> bool:
    return isinstance(token, Word) and len(token.parts) == 1 and token.parts[0] == Lit(text, False)


def _keyword(token: Token | None) -> str:
    """The text of an unquoted one-part word (where a keyword may stand), else `""`."""
    if isinstance(token, Word) and len(token.parts) == 1:
        part = token.parts[0]
        if isinstance(part, Lit) and not part.quoted:
            return part.text
    return ""


def _is_op(token: Token | None, text: str) -> bool:
    return isinstance(token, Op) and token.text == text


def _is_redirect(token: Token | None) -> bool:
    return isinstance(token, Op) and ("<" in token.text or ">" in token.text)


class _Parser:
    def __init__(self, tokens: list[Token], budget: Budget, depth: int) -> None:
        self.tokens, self.i, self.budget, self.depth = tokens, 0, budget, depth

    def peek(self, offset: int = 0) -> Token | None:
        index = self.i + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def script(self, closer: str | None) -> Script:
        script, connector = Script(), ""
        while (token := self.peek()) is not None:
            if isinstance(token, Op) and token.text in _SEPARATORS:
                if token.text == "&" and script.pipelines:
                    script.pipelines[-1].background = True
                connector = token.text
                self.i += 1
            elif isinstance(token, Op) and token.text == ")":
                self.i += 1
                if closer == ")":
                    return script
            elif closer == "}" and _is_word(token, "}"):
                self.i += 1
                return script
            else:
                start = self.i
                pipeline = self.pipeline(closer)
                if pipeline.stages:
                    pipeline.connector = connector
                    script.pipelines.append(pipeline)
                if self.i == start:  # nothing consumed: skip the token rather than loop
                    self.i += 1
        if closer is not None:
            script.errors.append(f"unclosed {'(' if closer == ')' else '{'}")
        return script

    def pipeline(self, closer: str | None) -> Pipeline:
        stages: list[Stage] = []
        while True:
            stage = self.stage(closer)
            if stage is not None:
                stages.append(stage)
            token = self.peek()
            if isinstance(token, Op) and token.text in ("|", "|&"):
                self.i += 1
                continue
            return Pipeline(stages)

    def stage(self, closer: str | None) -> Stage | None:
        while (token := self.peek()) is not None:
            keyword = _keyword(token)
            if keyword in _SKIPPED_KEYWORDS:
                self.i += 1
            elif keyword in _LOOP_HEADS:
                self._skip_loop_head(keyword)
            else:
                break
        token = self.peek()
        if _is_op(token, "("):
            self.i += 1
            return Group(self._nested(")"), self._redirects())
        if _is_word(token, "{"):
            self.i += 1
            return Group(self._nested("}"), self._redirects())
        if _is_word(token, "function") and isinstance(self.peek(1), Word):
            name = self.peek(1)
            self.i += 2
            if _is_op(self.peek(), "("):
                self.i += 2
            return self._function(name.literal() if isinstance(name, Word) else "", closer)
        if isinstance(token, Word) and self._opens_function():
            self.i += 3
            return self._function(token.literal(), closer)
        return self.simple(closer)

    def simple(self, closer: str | None) -> Simple | None:
        simple = Simple()
        while (token := self.peek()) is not None:
            if isinstance(token, Word):
                if closer == "}" and not simple.words and _is_word(token, "}"):
                    break
                simple.words.append(token)
                self.i += 1
            elif _is_redirect(token):
                simple.redirects.append(self._redirect())
            else:
                break
        return simple if simple.words or simple.redirects else None

    def _opens_function(self) -> bool:
        first, second = self.peek(1), self.peek(2)
        return _is_op(first, "(") and _is_op(second, ")")

    def _function(self, name: str, closer: str | None) -> FunctionDef | None:
        while _is_op(self.peek(), "\n"):
            self.i += 1
        body = self.stage(closer)
        return FunctionDef(name, body) if body is not None else None

    def _nested(self, closer: str) -> Script:
        self.budget.enter(self.depth + 1)
        self.depth += 1
        try:
            return self.script(closer)
        finally:
            self.depth -= 1

    def _redirect(self) -> Redirect:
        op = self.peek()
        self.i += 1
        target = self.peek()
        if isinstance(target, Word):
            self.i += 1
            return Redirect(op.text if isinstance(op, Op) else "", target)
        return Redirect(op.text if isinstance(op, Op) else "", Word())

    def _redirects(self) -> list[Redirect]:
        redirects = []
        while _is_redirect(self.peek()):
            redirects.append(self._redirect())
        return redirects

    def _skip_loop_head(self, keyword: str) -> None:
        """`for x in a b`, `case w in`: the loop's words are not commands."""
        self.i += 1
        while (token := self.peek()) is not None:
            if isinstance(token, Op) and token.text in _SEPARATORS:
                return
            self.i += 1
            if keyword == "case" and _keyword(token) == "in":
                return
