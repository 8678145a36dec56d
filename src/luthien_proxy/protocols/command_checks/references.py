"""The paths a command touches and how: read, written, deleted, listed, modified, or only used
(`ssh -i key`, `--kubeconfig x`). Which argument is a path depends on the program: a `grep`
pattern or an `echo` message is text, not a file read."""

from __future__ import annotations

from dataclasses import dataclass

from luthien_proxy.protocols.shell.command import Command
from luthien_proxy.protocols.shell.paths import UNKNOWN, canonical

_NO_FILES = {"echo", "printf", "true", "false", ":", "sleep", "export", "declare", "local", "alias", "set"}
_NO_FILES |= {"unset", "read", "which", "type", "command", "man", "help", "kill", "date", "git-commit"}
_PATTERN_FIRST = {"grep", "egrep", "fgrep", "rg", "ag", "ack", "sed", "awk", "gawk", "mawk", "jq", "yq"}
_LISTING = {
    "ls",
    "stat",
    "file",
    "test",
    "[",
    "[[",
    "du",
    "tree",
    "realpath",
    "readlink",
    "basename",
    "dirname",
}
_LISTING |= {"exa", "eza", "lsattr", "getfacl", "cd", "pushd", "mkdir", "df", "wc", "md5sum", "sha256sum"}
_DELETING = {"rm", "shred", "unlink", "rmdir", "srm", "wipe"}
_MODIFYING = {"chmod", "chown", "chgrp", "chattr", "setfacl"}
_COPYING = {"cp", "install", "ln", "rsync", "mv", "ditto"}
_WRITING = {"tee", "touch", "truncate"}
_LOADING = {"source", "."}
#: Programs that use a credential file given as an option value rather than print it.
_USING = {"ssh", "scp", "sftp", "ssh-add", "git", "kubectl", "helm", "docker", "docker-compose", "aws"}
_USING |= {"gcloud", "az", "terraform", "ansible", "ansible-playbook", "mysql", "psql", "pg_dump", "node"}
_USING |= {"dotenv", "uv", "poetry", "npm", "pnpm", "yarn", "pytest", "python", "python3"}
_USE_OPTIONS = {"-i", "-F", "--kubeconfig", "--config", "--key", "--cert", "--env-file", "--defaults-file"}
_USE_OPTIONS |= {"--defaults-extra-file", "--identity", "--identity-file", "--credentials", "--envfile"}


@dataclass(frozen=True)
class Ref:
    """A path (canonical) and the command's `role` on it."""

    path: str
    role: str  # read | write | delete | list | modify | use | load | touch


def _path_like(text: str) -> bool:
    if not text or "://" in text or text.startswith("-") or len(text) > 4096:
        return False
    if (":" in text.split("/", 1)[0] and "@" in text) or (
        text.count(":") == 1 and not text.startswith((".", "/", "~"))
    ):
        return False  # `user@host:path`, `host:path` (remote)
    return "/" in text or text.startswith((".", "~")) or "." in text or text in ("id_rsa", "id_ed25519")


def references(command: Command) -> list[Ref]:
    """Every path `command` names, with its role."""
    refs = [
        Ref(r.target.text, "write" if r.writes else "read") for r in command.redirections if r.body is None
    ]
    refs = [r for r in refs if not r.path.isdigit() and r.path != "-"]
    program = command.program
    if program in _NO_FILES or not command.argv:
        return refs
    operands: list[tuple[str, str | None]] = []  # (text, the option before it)
    previous: str | None = None
    for arg in command.argv[1:]:
        text = arg.text
        if (text.startswith("--") and "=" in text) or ("=" in text and program == "dd"):
            operands.append((text.split("=", 1)[1], text.split("=", 1)[0]))
        elif text.startswith("@"):
            operands.append((text[1:], previous))
        elif not text.startswith("-") or text == "-":
            operands.append((text, previous))
        previous = text if text.startswith("-") else None
    if program in _PATTERN_FIRST and operands and not any(a.text in ("-e", "-f") for a in command.argv[1:]):
        operands = operands[1:]
    paths = [
        (canonical(t, command.cwd), option) for t, option in operands if _path_like(t) and UNKNOWN not in t
    ]
    refs.extend(
        Ref(path, _role(command, program, path, option, i == len(paths) - 1))
        for i, (path, option) in enumerate(paths)
    )
    return refs


#: Options whose value is a file the program writes, for nearly every program.
_OUTPUT_OPTIONS = {
    "-o",
    "-O",
    "--output",
    "-out",
    "--out",
    "-keyout",
    "--output-file",
    "--outfile",
    "--log-file",
}


def _role(command: Command, program: str, path: str, option: str | None, last: bool) -> str:
    if program in _DELETING:
        return "delete"
    if program in _LISTING:
        return "list"
    if program in _MODIFYING:
        return "modify"
    if program in _LOADING:
        return "load"
    if program == "touch":
        return "touch"
    if option in _OUTPUT_OPTIONS and program not in _DELETING:
        return "write"
    if program in _WRITING:
        return "write"
    if program in _COPYING:
        return "write" if last else "read"
    if program == "dd":
        return "write" if option == "of" else "read"
    if program in ("sed", "perl") and any(a.text.startswith(("-i", "--in-place")) for a in command.argv[1:]):
        return "write"
    if (program in _USING and option in _USE_OPTIONS) or program in ("ssh-add", "ssh-keygen"):
        return "use"
    if program in ("tar", "zip", "7z") and option in ("-f", "-cf", "-czf", "-cjf", "-cJf") and last is False:
        return "write"
    return "read"
