"""A light reading of interpreter code (`python -c`, `perl -e`, `node -e`, ...) without running it:
its string literals, the shell commands it hands to `os.system`/`subprocess`/`system`/backticks,
and the base64 or hex literals it decodes. One linear scan; no parser of each language."""

from __future__ import annotations

import base64
import binascii

from luthien_proxy.protocols.shell.escapes import ansi_c

#: Calls whose string arguments are run by a shell (or as an argv) in some language.
SHELL_CALLS = (
    "os.system(", "os.popen(", "subprocess.", "commands.getoutput(", "pty.spawn(", "os.exec", "os.spawn",
    "system(", "exec(", "execsync(", "spawnsync(", "spawn(", "execfile(", "shell_exec(", "passthru(",
    "popen(", "proc_open(", "qx", "%x", "io.popen(", "child_process", "run(", "call(", "check_output(",
    "getoutput(", "start-process", "invoke-expression", "iex ",
)  # fmt: skip
DECODERS = (
    "b64decode",
    "base64",
    "fromhex",
    "unhexlify",
    "decode('hex",
    'decode("hex',
    "atob(",
    "buffer.from(",
)
_QUOTES = ("'''", '"""', "'", '"', "`")
MAX_LITERALS = 256


def string_literals(code: str) -> list[str]:
    """Every quoted string in `code` (single, double, triple, backtick), escapes decoded."""
    found: list[str] = []
    i, n = 0, len(code)
    while i < n and len(found) < MAX_LITERALS:
        quote = next((q for q in _QUOTES if code.startswith(q, i)), None)
        if quote is None:
            i += 1
            continue
        start = i + len(quote)
        end = start
        while end < n and not code.startswith(quote, end):
            end += 2 if code[end] == "\\" else 1
        body = code[start : min(end, n)]
        raw_prefix = i > 0 and code[i - 1] in "rR"
        found.append(body if raw_prefix else ansi_c(body))
        i = end + len(quote)
    return found


def shell_commands(code: str) -> list[str]:
    """The shell command lines `code` hands to a shell: the strings inside each exec-like call
    (an argv list joined by spaces), and any string that looks like a command in backticks."""
    lowered = code.lower()
    commands: list[str] = []
    windows = 0  # each call reads at most 4 KB: cap how many, so the work stays linear
    for call in SHELL_CALLS:
        start = lowered.find(call)
        while start >= 0 and windows < MAX_LITERALS:
            windows += 1
            window = code[start + len(call) : start + len(call) + 4096]
            literals = string_literals(_call_arguments(window))
            line = " ".join(literals)
            if line and line not in commands:  # `system(` is found again inside `os.system(`
                commands.append(line)
            start = lowered.find(call, start + len(call))
    return commands


def decoded_literals(code: str) -> list[str]:
    """The text of each base64 or hex literal in `code`, when the code calls a decoder."""
    lowered = code.lower()
    if not any(d in lowered for d in DECODERS):
        return []
    decoded: list[str] = []
    for literal in string_literals(code):
        packed = "".join(literal.split())
        if len(packed) < 8:
            continue
        text = _decode_base64(packed) or _decode_hex(packed)
        if text is not None:
            decoded.append(text)
    return decoded


def _call_arguments(window: str) -> str:
    """The text up to the parenthesis closing the call (or the line's end), quotes respected."""
    depth, i = 1, 0
    while i < len(window):
        c = window[i]
        if c in "'\"`":
            close = window.find(c, i + 1)
            i = len(window) if close < 0 else close + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
            if depth == 0:
                return window[:i]
        elif c == "\n" and depth == 1:
            return window[:i]
        i += 1
    return window


def _printable(data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    shown = sum(1 for c in text if c.isprintable() or c in "\n\t")
    return text if text and shown >= 0.9 * len(text) else None


def _decode_base64(packed: str) -> str | None:
    if len(packed) % 4 == 1 or not all(c.isalnum() or c in "+/=-_" for c in packed):
        return None
    try:
        data = base64.b64decode(packed + "=" * (-len(packed) % 4), altchars=b"-_" if "-" in packed else None)
    except (binascii.Error, ValueError):
        return None
    return _printable(data)


def _decode_hex(packed: str) -> str | None:
    if len(packed) % 2 or not all(c in "0123456789abcdefABCDEF" for c in packed):
        return None
    return _printable(bytes.fromhex(packed))
