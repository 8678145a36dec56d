"""The output of a pipeline that needs no outside input: `echo ..`, `printf ..`, a here-string,
then decoders (`base64 -d`, `xxd -r -p`, `rev`, `tr`, `gunzip`).

This is how `echo Y3VybCAuLi4= | base64 -d | sh` is judged as the `curl ...` it runs. Anything
else (a file, the network, an unknown variable) has no static output: `None`.
"""

from __future__ import annotations

import base64
import binascii
import zlib

from luthien_proxy.protocols.shell.command import Command
from luthien_proxy.protocols.shell.escapes import ansi_c
from luthien_proxy.protocols.shell.paths import UNKNOWN

MAX_OUTPUT = 256 * 1024
_DECODE_FLAGS = {"-d", "--decode", "-D", "-di", "-id", "--ignore-garbage"}


def output(command: Command, stdin: bytes | None, ignore_writes: bool = False) -> bytes | None:
    """What `command` writes to standard output given `stdin`, when that needs nothing unknown
    (with `ignore_writes`, what it writes whether to the pipe or to a redirection's file)."""
    if command.stdin_text is not None:
        stdin = command.stdin_text.encode("utf-8", "surrogateescape")
    args = command.args
    if any(UNKNOWN in a for a in args) or (command.writes() and not ignore_writes):
        return None
    program = command.program
    result: bytes | None
    if program == "echo":
        result = _echo(args)
    elif program == "printf":
        result = _printf(args) if args else None
    elif stdin is None:
        return None
    elif program == "cat" and all(a == "-" for a in args):
        result = stdin
    elif program in ("base64", "base32", "openssl"):
        result = _decode(program, args, stdin)
    elif program == "xxd" and "-r" in "".join(args):
        result = _unhex(stdin)
    elif program == "rev" and not args:
        result = b"\n".join(line[::-1] for line in stdin.split(b"\n"))
    elif program == "tr":
        result = _tr(args, stdin)
    elif program in ("gunzip", "zcat") or (program == "gzip" and "-d" in args):
        result = _inflate(stdin)
    else:
        return None
    return result[:MAX_OUTPUT] if result is not None else None


def text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _echo(args: list[str]) -> bytes:
    newline, escapes = True, False
    while args and args[0][:1] == "-" and set(args[0][1:]) <= set("neE") and len(args[0]) > 1:
        newline = newline and "n" not in args[0]
        escapes = "e" in args[0] or (escapes and "E" not in args[0])
        args = args[1:]
    line = " ".join(args)
    return ((ansi_c(line) if escapes else line) + ("\n" if newline else "")).encode(
        "utf-8", "surrogateescape"
    )


def _printf(args: list[str]) -> bytes:
    fmt, values = ansi_c(args[0]), list(args[1:])
    out: list[str] = []
    for _ in range(64):  # the format is reused while values remain
        i = 0
        while i < len(fmt):
            c = fmt[i]
            if c == "%" and i + 1 < len(fmt):
                spec = fmt[i + 1]
                i += 2
                if spec == "%":
                    out.append("%")
                elif spec in "sbdicxXo":
                    value = values.pop(0) if values else ""
                    out.append(ansi_c(value) if spec == "b" else value[:1] if spec == "c" else value)
                else:
                    out.append("%" + spec)
                continue
            out.append(c)
            i += 1
        if not values:
            break
    return "".join(out).encode("utf-8", "surrogateescape")


def _decode(program: str, args: list[str], data: bytes) -> bytes | None:
    if program == "openssl" and not ({"base64", "enc"} & set(args) and "-d" in args):
        return None
    if program != "openssl" and not (_DECODE_FLAGS & set(args)):
        return None
    packed = b"".join(data.split())
    try:
        if program == "base32":
            return base64.b32decode(packed + b"=" * (-len(packed) % 8))
        return base64.b64decode(packed + b"=" * (-len(packed) % 4), altchars=None)
    except (binascii.Error, ValueError):
        return None


def _unhex(data: bytes) -> bytes | None:
    packed = b"".join(data.split())
    try:
        return binascii.unhexlify(packed[: len(packed) // 2 * 2])
    except (binascii.Error, ValueError):
        return None


def _tr_set(spec: str) -> str:
    spec = ansi_c(spec)
    out: list[str] = []
    i = 0
    while i < len(spec):
        if i + 2 < len(spec) and spec[i + 1] == "-":
            low, high = ord(spec[i]), ord(spec[i + 2])
            out.extend(chr(n) for n in range(low, min(high, low + 256) + 1))
            i += 3
        else:
            out.append(spec[i])
            i += 1
    return "".join(out)


def _tr(args: list[str], data: bytes) -> bytes | None:
    flags = [a for a in args if a.startswith("-") and len(a) > 1]
    sets = [_tr_set(a) for a in args if a not in flags]
    source = data.decode("utf-8", "surrogateescape")
    if flags == ["-d"] and len(sets) == 1:
        return "".join(c for c in source if c not in sets[0]).encode("utf-8", "surrogateescape")
    if flags or len(sets) != 2 or not sets[1]:
        return None
    first, second = sets
    second = second + second[-1] * max(len(first) - len(second), 0)
    table = {ord(a): b for a, b in zip(first, second, strict=False)}
    return source.translate(table).encode("utf-8", "surrogateescape")


def _inflate(data: bytes) -> bytes | None:
    try:
        return zlib.decompressobj(32 + zlib.MAX_WBITS).decompress(data, MAX_OUTPUT)
    except zlib.error:
        return None
