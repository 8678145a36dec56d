"""Paths as the shell would reach them, in one spelling: any user's home is `~`, dots are resolved.

`/home/alice/.ssh`, `/root/.ssh`, `/Users/bob/.ssh`, `$HOME/.ssh` and `~/./.ssh` are all
`~/.ssh`; a relative path is joined to the working directory when a `cd` made it known.
"""

from __future__ import annotations

import posixpath

#: What `$HOME` and `~` expand to while reading a command; mapped back to `~` by `canonical`.
HOME = "/home/user"
#: An expansion whose value cannot be known without running the command.
UNKNOWN = "\ufffc"
_HOME_PARENTS = ("/home/", "/Users/")


def canonical(path: str, cwd: str | None = None) -> str:
    """`path` with `~` for any home and `.`/`..` resolved; relative stays relative without a cwd."""
    if not path:
        return path
    if path.startswith("~"):
        slash = path.find("/")
        path = HOME + (path[slash:] if slash >= 0 else "")
    if not path.startswith("/"):
        if cwd is None or cwd.startswith(UNKNOWN):
            return posixpath.normpath(path) if path not in (".", "./") else "."
        path = posixpath.join(absolute(cwd), path)
    return _home_form(posixpath.normpath(path) if len(path) < 4096 else path)


def absolute(path: str) -> str:
    """A canonical path made absolute again (`~` back to `HOME`)."""
    if path == "~":
        return HOME
    return HOME + path[1:] if path.startswith("~/") else path


def _home_form(path: str) -> str:
    if path.startswith("//") and not path.startswith("///"):
        path = path[1:]
    if path == "/root" or path.startswith("/root/"):
        return "~" + path[len("/root") :]
    for parent in _HOME_PARENTS:
        if path.startswith(parent) and len(path) > len(parent):
            rest = path[len(parent) :]
            slash = rest.find("/")
            if rest[:1] in (".", UNKNOWN) or not rest:
                return path
            return "~" + (rest[slash:] if slash >= 0 else "")
    return path


def home_relative(path: str) -> str | None:
    """The part of a canonical path under the home (`.ssh/id_rsa`), `""` for the home, else None."""
    if path == "~":
        return ""
    return path[2:] if path.startswith("~/") else None


def is_glob(text: str) -> bool:
    return any(c in text for c in "*?[")
