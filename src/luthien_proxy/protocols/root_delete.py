"""A linear-time check for a shell command that deletes the root recursively (`rm -rf /` and kin).

A regular expression for this either misses spellings (`rm -r -f /`, `rm / -rf`, `r''m -rf "/"`) or
backtracks quadratically on hostile input (a model can send megabytes of `rm -r `), and rules run
on the event loop. This reads each command segment once: shell quoting and escapes are removed as
the shell removes them (`$IFS` and redirections separate words, `$'\\x2f'` is `/`), and a segment
matches when, after an `rm` word (any case), it has a recursive flag (`--rec` included) and a root
target (`/`, `/*`, `/?*`, and spellings such as `/./*` or `~/../..`) in any order. What needs the
shell itself to see (`$(echo /)`, brace expansion, `find / -delete`) is the monitor's job.
"""

from __future__ import annotations

import posixpath
import re

# Command separators and the starts of substitutions and groups: `;`, `&&`, `|`, `$(`, backticks.
_SEGMENTS = re.compile(r"[;&|\n(){}`]")
_QUOTING = re.compile(r"\\\n|[\"'\\]")  # line continuations, quotes and escapes, as the shell drops them
_IFS = re.compile(r"\$\{?IFS\}?|[<>]")  # `$IFS` and redirections separate words
_ANSI_C = re.compile(r"\$'((?:[^'\\]|\\.)*)'")  # bash's $'\x2f' quoting
_GLOB = set("*?")


def _is_recursive_flag(word: str) -> bool:
    if word.startswith("--"):  # GNU getopt takes any unambiguous prefix: `--r` is `--recursive`
        return len(word) > 2 and "--recursive".startswith(word)
    return word.startswith("-") and ("r" in word or "R" in word)


def _is_root(word: str) -> bool:
    """`/`, `/*` and spellings of them: `//`, `/./*`, `/tmp/..`, `~/../..` (a home is two deep)."""
    if word.startswith(("~", "$HOME", "${HOME}")):
        word = "/home/user" + word[word.find("/") :] if "/" in word else "/home/user"
    if not word.startswith("/"):
        return False
    head, _, last = word.rpartition("/")
    if last and set(last) <= _GLOB:  # `/*`, `/?*`: every entry of a directory
        word = head or "/"
    return posixpath.normpath(word) in ("/", "//")


def _ansi_c(match: re.Match[str]) -> str:
    try:
        return match.group(1).encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        return match.group(1)


def deletes_root(text: str) -> bool:
    """Whether some command in `text` runs `rm` recursively on `/`."""
    unquoted = _QUOTING.sub("", _ANSI_C.sub(_ansi_c, text))
    for segment in _SEGMENTS.split(_IFS.sub(" ", unquoted)):
        removing = recursive = root = False
        for word in segment.split():
            if not removing:
                # Lower case: the default file systems of macOS and Windows ignore case (`RM` runs rm).
                removing = word.rsplit("/", 1)[-1].lower() == "rm"
                continue
            recursive = recursive or _is_recursive_flag(word)
            root = root or _is_root(word)
            if recursive and root:
                return True
    return False
