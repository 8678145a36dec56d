"""Destructive commands: recursive deletes of the system, the home or the whole working tree,
disk formatting and raw device writes, `chmod -R` of the system, force pushes over main, dropped
databases and cloud resources, shutdowns, and erased shell history."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from luthien_proxy.protocols.command_checks.finding import Finding, quote
from luthien_proxy.protocols.command_checks.references import references
from luthien_proxy.protocols.command_checks.sensitive import is_block_device
from luthien_proxy.protocols.shell.command import Arg, Command
from luthien_proxy.protocols.shell.paths import UNKNOWN, canonical, home_relative, is_glob

_SYSTEM_TOP = {"/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/opt", "/proc", "/sbin", "/srv"}
_SYSTEM_TOP |= {"/sys", "/usr", "/var", "/home", "/Users", "/System", "/Library", "/Applications", "/private"}
_SYSTEM_TOP |= {"/mnt", "/media", "/snap", "/nix"}
_SCRATCH = ("/tmp", "/var/tmp", "/dev/shm", "/private/tmp", "/var/folders")
_CACHES = {".cache", ".npm", ".cargo/registry", ".gradle/caches", ".m2/repository", "Library/Caches"}
_FORMATTERS = {"mkfs", "mke2fs", "mkswap", "wipefs", "blkdiscard", "mkntfs", "newfs"}
_PARTITIONERS = {"fdisk", "sfdisk", "sgdisk", "parted", "gdisk", "cfdisk", "diskutil"}
_SHREDDERS = {"shred", "wipe", "srm"}
_DATABASES = {
    "psql",
    "mysql",
    "mariadb",
    "sqlite3",
    "mongo",
    "mongosh",
    "redis-cli",
    "cqlsh",
    "clickhouse-client",
}
_DB_SCORES = {"drop table": 0.6, "truncate table": 0.6}
_DB_DROPS = (
    "drop database",
    "drop schema",
    "drop table",
    "truncate table",
    "flushall",
    "flushdb",
    "dropdatabase",
)
_POWER = {"shutdown", "reboot", "halt", "poweroff", "telinit"}
_SECURITY_OFF = (("setenforce", "0"), ("ufw", "disable"), ("iptables", "-F"), ("spctl", "--master-disable"))
_SECURITY_OFF += (("csrutil", "disable"), ("iptables", "--flush"))


def check(command: Command) -> Iterator[Finding]:
    program, args = command.program, command.args
    if (
        program == "rm"
        or (program == "find" and _find_deletes(command))
        or (program == "rsync" and "--delete" in args)
    ):
        yield from _deletes(command)
    elif program == "mv":
        yield from _moves(command)
    elif program in _SHREDDERS:
        target = next((a for a in args if not a.startswith("-")), "")
        score = 0.97 if is_block_device(target) else 0.85
        yield Finding(score, "destructive", f"overwrites files beyond recovery ({quote(command)})")
    elif program.split(".", 1)[0] in _FORMATTERS:
        yield Finding(0.95, "destructive", f"formats or wipes a disk ({quote(command)})")
    elif program in _PARTITIONERS and not set(args) & {"-l", "--list", "print", "list", "info"}:
        if any(is_block_device(a) or a.startswith("disk") for a in args):
            yield Finding(0.9, "destructive", f"repartitions a disk ({quote(command)})")
    elif program in ("chmod", "chown", "chgrp"):
        yield from _permissions(command)
    elif program == "git":
        yield from _git(command)
    elif program in _DATABASES:
        text = " ".join([*args, command.stdin_text or ""]).lower()
        drop = next((d for d in _DB_DROPS if d in text), None)
        if drop is not None:
            score = _DB_SCORES.get(drop, 0.8)
            yield Finding(score, "destructive", f"{drop.upper()} on a database ({quote(command)})")
    elif (
        program in _POWER
        or (program == "init" and args[:1] in (["0"], ["6"]))
        or (program == "systemctl" and set(args) & {"poweroff", "reboot", "halt"})
    ):
        yield Finding(0.8, "destructive", f"shuts down or reboots the machine ({quote(command)})")
    elif program in ("kill", "pkill", "killall", "killall5") and ("-1" in args[1:] or args[-1:] == ["1"]):
        yield Finding(0.85, "destructive", f"kills every process or init ({quote(command)})")
    elif program == "history" and "-c" in args:
        yield Finding(0.6, "destructive", "erases the shell history")
    elif program == "unset" and "HISTFILE" in args:
        yield Finding(0.6, "destructive", "stops the shell history from being saved")
    yield from _devices(command)
    yield from _cloud(command)
    for name, flag in _SECURITY_OFF:
        if program == name and flag in args:
            yield Finding(0.75, "destructive", f"turns off a security control ({quote(command)})")
    if any(k in ("HISTFILE", "HISTSIZE") and v in ("/dev/null", "0", "") for k, v in _exported(command)):
        yield Finding(0.6, "destructive", "stops the shell history from being saved")


def delete_target(path: str) -> tuple[float, str] | None:
    """How bad deleting `path` recursively is (a canonical path, maybe ending in a glob)."""
    base, name = posixpath.split(path) if "/" in path else ("", path)
    everything = is_glob(name) and set(name) <= set("*?.[]!")
    if everything:
        path = base or "."
    if "--no-preserve-root" in path:
        return 0.98, "the whole file system"
    if path in ("/", "//") or posixpath.normpath(path) == "/":
        return 0.98, "the whole file system"
    if path == "~":
        return 0.95, "the home directory"
    if path.startswith(UNKNOWN):
        return 0.65, "a path that starts with an unset variable (it may be /)"
    if path.startswith("/") and not path.startswith(_SCRATCH):
        top = "/" + path.split("/")[1]
        depth = path.count("/")
        if path.startswith(("/usr/local/", "/opt/")) and depth >= 3:
            return 0.5, f"installed software under {path}"
        if top in _SYSTEM_TOP and depth <= 2:
            return 0.95, f"the system directory {path}"
        if top in _SYSTEM_TOP and top not in ("/opt", "/mnt", "/media"):
            return (0.75 if depth <= 3 else 0.5), f"system files under {path}"
    rel = home_relative(path)
    if rel is not None:
        if rel in _CACHES or rel.startswith(".cache/"):
            return None
        if "/" not in rel:
            return 0.85, f"{path}, a whole folder of the home directory"
    if path in (".", "..") or path.startswith("../..") or path == "../*":
        return 0.8, "the whole working directory" if path == "." else "a parent directory"
    if path == ".git" or path.endswith("/.git"):
        return 0.8, "the repository's history (.git)"
    if is_glob(path) and path.startswith(("/", "~")) and "/" not in path.strip("/").split("*")[0]:
        return 0.85, f"everything matching {path}"
    return None


def _deletes(command: Command) -> Iterator[Finding]:
    args = command.argv[1:]
    recursive = command.program != "rm" or any(_recursive_flag(a.text) for a in args)
    if "--no-preserve-root" in command.args:
        yield Finding(0.98, "destructive", f"deletes the whole file system ({quote(command)})")
        return
    filtered = command.program == "find" and any(
        a.text in ("-name", "-iname", "-path", "-ipath", "-regex", "-newer", "-mtime", "-size") for a in args
    )
    targets = _find_roots(args) if command.program == "find" else _operands(args)
    if command.program == "rsync":
        targets = targets[-1:]
    for target in targets:
        found = delete_target(canonical(target.text, command.cwd))
        if found is None:
            continue
        score, what = found
        if not recursive and not is_glob(target.text):
            score = min(score, 0.7) if target.text.startswith(("/", "~")) else 0.0
        if filtered:
            score *= 0.6
        if score:
            yield Finding(score, "destructive", f"deletes {what} ({quote(command)})")


def _moves(command: Command) -> Iterator[Finding]:
    operands = _operands(command.argv[1:])
    if len(operands) < 2:
        return
    for source in operands[:-1]:
        found = delete_target(canonical(source.text, command.cwd))
        if found is not None:
            yield Finding(found[0] * 0.9, "destructive", f"moves away {found[1]} ({quote(command)})")
    if operands[-1].text == "/dev/null":
        yield Finding(0.6, "destructive", f"moves files into /dev/null ({quote(command)})")


def _permissions(command: Command) -> Iterator[Finding]:
    args = command.argv[1:]
    recursive = any(a.text in ("-R", "--recursive") or (a.text[:1] == "-" and "R" in a.text) for a in args)
    operands = _operands(args)[1:]  # after the mode or owner
    for target in operands:
        found = delete_target(canonical(target.text, command.cwd))
        if found is not None and found[0] >= 0.9 and (recursive or found[0] >= 0.95):
            yield Finding(
                min(found[0], 0.9), "destructive", f"changes permissions of {found[1]} ({quote(command)})"
            )


def _git(command: Command) -> Iterator[Finding]:
    args = command.args
    words = [a for a in args if not a.startswith("-")]
    if "push" in args:
        forced = any(a in ("-f", "--force", "--mirror") or a.startswith("--force") for a in args) or any(
            w.startswith("+") for w in words
        )
        refs = words[words.index("push") + 2 :] if "push" in words else []
        unnamed = not refs  # the current branch, which may be main
        main = unnamed or any(
            r.lstrip("+").split(":")[-1] in ("main", "master", "trunk", "HEAD") for r in refs
        )
        if "--delete" in args or any(r.startswith(":") for r in refs):
            yield Finding(0.7 if main else 0.45, "destructive", f"deletes a remote branch ({quote(command)})")
        elif forced:
            score = 0.6 if unnamed else 0.75 if main else 0.4
            yield Finding(score, "destructive", f"force-pushes over history ({quote(command)})")
    elif (
        "clean" in args and any("f" in a and a.startswith("-") for a in args) and any("x" in a for a in args)
    ):
        yield Finding(0.4, "destructive", f"deletes every untracked and ignored file ({quote(command)})")
    elif ("reflog" in args and "expire" in args) or "filter-branch" in args or "filter-repo" in args:
        yield Finding(0.6, "destructive", f"rewrites or expires the repository's history ({quote(command)})")
    elif "reset" in args and "--hard" in args:
        yield Finding(0.3, "destructive", f"discards uncommitted work ({quote(command)})")


def _devices(command: Command) -> Iterator[Finding]:
    targets = command.writes()
    if command.program == "dd":
        targets += [a[3:] for a in command.args if a.startswith("of=")]
    elif command.program in ("cp", "tee", "cat", "pv"):
        targets += [a for a in command.args if a.startswith("/dev/")]
    device = next((t for t in targets if is_block_device(t)), None)
    if device is not None:
        yield Finding(0.97, "destructive", f"writes raw data to the disk {device} ({quote(command)})")
    written = [r.path for r in references(command) if r.role in ("write", "touch")]
    history = next((t for t in written if t.endswith("_history")), None)
    if history is not None:
        yield Finding(0.6, "destructive", f"overwrites the shell history {history}")


def _cloud(command: Command) -> Iterator[Finding]:
    program, args = command.program, command.args
    if program == "aws" and (
        ("rm" in args and "--recursive" in args) or ("rb" in args and "--force" in args)
    ):
        yield Finding(0.8, "destructive", f"deletes a whole bucket ({quote(command)})")
    elif program == "aws" and any(a.startswith(("delete-", "terminate-")) for a in args):
        yield Finding(0.65, "destructive", f"deletes cloud resources ({quote(command)})")
    elif program == "terraform" and "destroy" in args:
        yield Finding(
            0.85 if "-auto-approve" in args else 0.7,
            "destructive",
            f"destroys infrastructure ({quote(command)})",
        )
    elif program == "kubectl" and "delete" in args:
        broad = bool(set(args) & {"--all", "-A", "--all-namespaces", "namespace", "ns", "namespaces"})
        yield Finding(0.8 if broad else 0.45, "destructive", f"deletes cluster resources ({quote(command)})")
    elif program == "gh" and args[:2] == ["repo", "delete"]:
        yield Finding(0.9, "destructive", f"deletes a GitHub repository ({quote(command)})")
    elif program == "docker" and "prune" in args and ("-a" in args or "--volumes" in args):
        yield Finding(0.55, "destructive", f"deletes every unused image or volume ({quote(command)})")


def _find_deletes(command: Command) -> bool:
    return "-delete" in command.args or any(c.program in ("rm", "shred", "unlink") for c in command.children)


def _find_roots(args: list[Arg]) -> list[Arg]:
    roots = []
    for arg in args:
        if arg.text.startswith(("-", "(", "!")):
            break
        roots.append(arg)
    return roots or [Arg(".")]


def _operands(args: list[Arg]) -> list[Arg]:
    operands, ended = [], False
    for arg in args:
        if arg.text == "--" and not ended:
            ended = True
        elif ended or not arg.text.startswith("-") or arg.text == "-":
            operands.append(arg)
    return operands


def _recursive_flag(word: str) -> bool:
    if word.startswith("--"):
        return len(word) > 2 and "--recursive".startswith(word)
    return word.startswith("-") and ("r" in word or "R" in word)


def _exported(command: Command) -> list[tuple[str, str]]:
    pairs = list(command.assignments.items())
    if command.program in ("export", "declare", "typeset"):
        for arg in command.args:
            name, equals, value = arg.partition("=")
            if equals:
                pairs.append((name, value))
    return pairs
