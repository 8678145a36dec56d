"""Config values that refer to the environment, resolved against a mapping the caller hands in.

Two conventions, both LiteLLM's: a whole value `os.environ/NAME` is the variable's value (so keys
live in the environment, never in a file), and `${NAME}` / `$NAME` inside a string (a webhook URL)
is expanded the way `os.path.expandvars` expands it. The one place either is implemented, shared by
the model routes and the policy host; no dependencies, so any layer may import it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

ENV_PREFIX = "os.environ/"
#: `os.path.expandvars`'s own pattern: `$NAME` or `${anything but a closing brace}`.
_VARIABLE = re.compile(r"\$(\w+|\{[^}]*\})", re.ASCII)

T = TypeVar("T")


def resolve_env(value: T, environ: Mapping[str, str]) -> T | str | None:
    """`os.environ/NAME` → the variable's value (None when unset); any other value unchanged."""
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        return environ.get(value.removeprefix(ENV_PREFIX))
    return value


def expand_vars(text: str, environ: Mapping[str, str]) -> str:
    """`text` with each set `$NAME` / `${NAME}` replaced by its value; unset ones are left as written."""

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1).removeprefix("{").removesuffix("}")
        return environ.get(name, match.group(0))

    return _VARIABLE.sub(substitute, text)
