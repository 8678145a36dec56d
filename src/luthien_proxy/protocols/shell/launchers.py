"""Programs that run other commands: wrappers (`sudo`, `env`, `nohup`, `xargs`, `timeout`) removed
from the front of an argv, and launchers that hand a command line or an argv on (`eval`, `su -c`,
`ssh host cmd`, `watch`, `at`, `find -exec`, `tmux new`, `docker exec .. sh -c`)."""

from __future__ import annotations

import base64
import binascii
import re

from luthien_proxy.protocols.shell.command import Arg, Command
from luthien_proxy.protocols.shell.programs import language_of, skip_options

_ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\+?=")
_LAUNCHERS = {"docker", "podman", "nerdctl", "kubectl", "oc", "lxc", "incus", "nsenter", "unshare", "bwrap"}
_SSH_VALUES = "bcDEeFIiJLlmOoPpQRSWw"
_TMUX_RUNS = ("new", "new-session", "new-window", "neww", "send-keys", "send")
#: Short options taking a value, long options taking a value, and positional arguments before the
#: wrapped command (`timeout 10 cmd`, `chroot /x cmd`).
WRAPPERS: dict[str, tuple[str, frozenset[str], int]] = {
    "sudo": ("ugCDhprtUT", frozenset({"--user", "--group", "--chdir", "--host", "--prompt", "--role"}), 0),
    "doas": ("uC", frozenset(), 0),
    "nohup": ("", frozenset(), 0),
    "time": ("fo", frozenset({"--format", "--output"}), 0),
    "nice": ("n", frozenset({"--adjustment"}), 0),
    "ionice": ("cnp", frozenset({"--class", "--classdata"}), 0),
    "timeout": ("sk", frozenset({"--signal", "--kill-after"}), 1),
    "gtimeout": ("sk", frozenset({"--signal", "--kill-after"}), 1),
    "stdbuf": ("ioe", frozenset({"--input", "--output", "--error"}), 0),
    "setsid": ("", frozenset(), 0),
    "command": ("", frozenset(), 0),
    "builtin": ("", frozenset(), 0),
    "exec": ("a", frozenset(), 0),
    "unbuffer": ("", frozenset(), 0),
    "caffeinate": ("tw", frozenset(), 0),
    "chroot": ("", frozenset({"--userspec", "--groups"}), 1),
    "flock": ("wEc", frozenset({"--timeout", "--conflict-exit-code"}), 1),
    "taskset": ("", frozenset(), 1),
    "chrt": ("", frozenset(), 1),
    "busybox": ("", frozenset(), 0),
    "proxychains": ("f", frozenset(), 0),
    "proxychains4": ("f", frozenset(), 0),
    "torsocks": ("aPup", frozenset(), 0),
    "tsocks": ("", frozenset(), 0),
    "strace": ("eoOpPsSuXIbE", frozenset(), 0),
    "ltrace": ("eoOpsSuXnAa", frozenset(), 0),
    "fakeroot": ("li", frozenset(), 0),
    "firejail": ("", frozenset(), 0),
    "systemd-run": (
        "pEu",
        frozenset({"--unit", "--property", "--on-calendar", "--on-active", "--description"}),
        0,
    ),
    "screen": ("STcpXhe", frozenset(), 0),
    "xargs": (
        "IinPdLsaEe",
        frozenset({"--max-args", "--max-procs", "--delimiter", "--arg-file", "--replace"}),
        0,
    ),
    "pkexec": ("", frozenset({"--user"}), 0),
    "runuser": ("ugG", frozenset({"--user", "--group"}), 0),
    "sg": ("", frozenset(), 1),
}

#: What a launcher runs: how it was reached, a command line with its spliced sources, and argvs.
Launched = tuple[str, tuple[str, tuple[Command, ...]] | None, list[list[Arg]]]


def launched(command: Command) -> Launched | None:
    """The command line or argvs `command` hands on to be run, if it is a launcher."""
    program, args = command.program, command.argv[1:]
    if program == "eval":
        return "eval", _line(args), []
    if program in ("su", "runuser"):
        code = next((args[i + 1] for i, a in enumerate(args[:-1]) if a.text in ("-c", "--command")), None)
        return (program + " -c", (code.text, code.sources), []) if code is not None else None
    if program == "watch":
        return (
            "watch",
            _line(args[skip_options(args, "nd", frozenset({"--interval", "--differences"})) :]),
            [],
        )
    if program in ("at", "batch") and command.stdin_text is not None:
        return program, (command.stdin_text, ()), []
    if program == "ssh":
        rest = args[skip_options(args, _SSH_VALUES, frozenset()) + 1 :]
        return ("ssh", _line(rest), []) if rest else None
    if program == "find":
        return "find -exec", None, _find_exec(args)
    if program == "tmux" and args and args[0].text in _TMUX_RUNS:
        rest = args[1 + skip_options(args[1:], "sntcxyFeT", frozenset()) :]
        words = [a for a in rest if a.text not in ("Enter", "C-m")]
        return ("tmux", _line(words), []) if words else None
    if program in _LAUNCHERS:
        start = next((i for i, a in enumerate(args) if language_of(a.text.rsplit("/", 1)[-1])), None)
        return (f"{program} exec", None, [args[start:]]) if start is not None else None
    return None


def _line(args: list[Arg]) -> tuple[str, tuple[Command, ...]]:
    return " ".join(a.text for a in args), tuple(c for a in args for c in a.sources)


def _find_exec(args: list[Arg]) -> list[list[Arg]]:
    found, i = [], 0
    while i < len(args):
        if args[i].text in ("-exec", "-execdir", "-ok", "-okdir"):
            end = next((j for j in range(i + 1, len(args)) if args[j].text in (";", "+")), len(args))
            if end > i + 1:
                found.append(args[i + 1 : end])
            i = end
        i += 1
    return found


def unwrap(argv: list[Arg]) -> tuple[list[Arg], tuple[str, ...], dict[str, str]]:
    """`argv` without the wrappers that run it (`sudo -u x env A=1 nohup cmd` is `cmd`)."""
    wrappers: list[str] = []
    env: dict[str, str] = {}
    for _ in range(32):
        if not argv:
            break
        program = argv[0].text.rsplit("/", 1)[-1].lower()
        if program == "env":
            rest = _env_command(argv[1:], env)
            if not rest:
                break
            wrappers.append("env")
            argv = rest
        elif program in WRAPPERS:
            if program == "command" and any(a.text in ("-v", "-V") for a in argv[1:]):
                break
            short, long, positional = WRAPPERS[program]
            start = 1 + skip_options(argv[1:], short, long, positional)
            if start >= len(argv):
                break
            wrappers.append(program)
            argv = argv[start:]
        else:
            break
    return argv, tuple(wrappers), env


def _env_command(args: list[Arg], env: dict[str, str]) -> list[Arg]:
    i = 0
    while i < len(args):
        word = args[i].text
        if word in ("-u", "--unset", "-C", "--chdir"):
            i += 2
        elif word in ("-S", "--split-string") or word.startswith(("-S", "--split-string=")):
            value = args[i + 1].text if word in ("-S", "--split-string") and i + 1 < len(args) else ""
            value = value or word.split("=", 1)[-1] if word.startswith("--") else value or word[2:]
            tail = args[i + (2 if word in ("-S", "--split-string") else 1) :]
            return [Arg(w) for w in value.split()] + tail
        elif word.startswith("-"):
            i += 1
        elif (match := _ASSIGNMENT.match(word)) is not None:
            env[match.group(1)] = word[match.end() :]
            i += 1
        else:
            break
    return args[i:]


def xargs_items(argv: list[Arg], data: str) -> list[Arg]:
    """What xargs appends from its input: all of it as one `sh -c` script, else word by word."""
    if language_of(argv[0].text.rsplit("/", 1)[-1]) is not None and any(a.text.startswith("-") for a in argv):
        return [Arg(data.strip())]
    return [Arg(w) for w in data.split()[:256]]


def powershell_encoded(code: str) -> str | None:
    """`-EncodedCommand`'s base64 of UTF-16LE text."""
    if " " in code or len(code) < 8:
        return None
    try:
        return base64.b64decode(code + "=" * (-len(code) % 4), validate=True).decode("utf-16-le")
    except (binascii.Error, ValueError):
        return None
