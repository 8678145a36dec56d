"""The UI's static files, read once from the package and kept in memory."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One static file: its bytes and the media type to serve them with."""

    body: bytes
    media_type: str


@functools.cache
def assets() -> dict[str, Asset]:
    """Every shipped static file by name; the names are the only files the UI will serve."""
    found: dict[str, Asset] = {}
    for entry in (resources.files("luthien_proxy.read.ui") / "static").iterdir():
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        if entry.is_file() and suffix in _MEDIA_TYPES:
            found[entry.name] = Asset(entry.read_bytes(), _MEDIA_TYPES[suffix])
    return found


def asset(name: str) -> Asset | None:
    """The static file called `name`, or None when the UI ships no such file."""
    return assets().get(name)


@functools.cache
def page(title: str, script: str) -> Asset:
    """A UI page: the one shell every page shares, with its title and its script module."""
    shell = (resources.files("luthien_proxy.read.ui") / "page.template").read_text()
    return Asset(shell.format(title=title, script=script).encode(), _MEDIA_TYPES[".html"])
