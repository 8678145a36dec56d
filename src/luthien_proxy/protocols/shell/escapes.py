"""Bash's `$'..'` escapes (`\\x2f`, `\\057`, `\\u002f`, `\\n`), decoded for the lexer, `echo -e`
and `printf`."""

from __future__ import annotations

_C_ESCAPES = {"a": "\a", "b": "\b", "e": "\x1b", "E": "\x1b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_C_ESCAPES |= {"v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def ansi_c(body: str) -> str:
    """Decode the escapes of bash's `$'..'` quoting (`\\x2f`, `\\057`, `\\u002f`, `\\n`)."""
    out: list[str] = []
    i, n = 0, len(body)
    while i < n:
        c = body[i]
        if c != "\\" or i + 1 >= n:
            out.append(c)
            i += 1
            continue
        e = body[i + 1]
        i += 2
        if e in _C_ESCAPES:
            out.append(_C_ESCAPES[e])
        elif e in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[e]
            digits = _prefix(body, i, width, "0123456789abcdefABCDEF")
            out.append(chr(min(int(digits, 16), 0x10FFFF)) if digits else "\\" + e)
            i += len(digits)
        elif e in "01234567":
            digits = e + _prefix(body, i, 2, "01234567")
            out.append(chr(int(digits, 8) & 0xFF))
            i += len(digits) - 1
        elif e == "c" and i < n:
            out.append(chr(ord(body[i]) & 0x1F))
            i += 1
        else:
            out.append("\\" + e)
    return "".join(out)


def _prefix(text: str, start: int, width: int, allowed: str) -> str:
    end = start
    while end < len(text) and end - start < width and text[end] in allowed:
        end += 1
    return text[start:end]
