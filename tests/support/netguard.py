"""Refuse, in the test process, every connection or name lookup that would leave the machine.

The suite promises loopback traffic only. An in-process patch of `socket.socket.connect`,
`connect_ex` and `socket.getaddrinfo` covers every client the tests use (httpx, openai, asyncpg,
redis, asyncio's create_connection/sock_connect all end there). A refusal raises at once (no
timeout) and is also recorded, so a test whose code swallows the OSError still fails in teardown.
Child processes (LiteLLM, `luthien up`) are not patched; they run with `OFFLINE_ENV`.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})

violations: list[str] = []
_installed = False


class NonLoopbackError(PermissionError):
    """Raised instead of reaching (or resolving) an address off this machine."""


def _is_local_host(host: object) -> bool:
    if host is None or host == "" or host == b"":
        return True  # no host: bind to / look up the local wildcard
    name = host.decode() if isinstance(host, bytes) else str(host)
    name = name.rstrip(".").lower()
    if name in LOCAL_NAMES or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def _refuse(what: str) -> NonLoopbackError:
    message = f"test tried to reach a non-loopback address: {what} (the suite is loopback-only)"
    violations.append(message)
    return NonLoopbackError(message)


def _check_address(sock: socket.socket, address: Any) -> None:
    if sock.family in (socket.AF_INET, socket.AF_INET6) and not _is_local_host(address[0]):
        raise _refuse(f"connect to {address!r}")


def install() -> None:
    """Patch the socket module once for the whole test process."""
    global _installed
    if _installed:
        return
    _installed = True
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: Any) -> None:
        _check_address(self, address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        _check_address(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if not _is_local_host(host):
            raise _refuse(f"name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = getaddrinfo


def take_violations() -> list[str]:
    """Return and clear what was refused since the last call."""
    taken = violations[:]
    violations.clear()
    return taken
