"""Port numbers for the servers: valid when the command line is parsed, free before anything starts."""

from __future__ import annotations

import argparse
import errno
import socket
from collections.abc import Mapping

from luthien_proxy.control_plane import StartupError

IN_USE = "in use by another process"


def port_number(text: str) -> int:
    """argparse type: a TCP port, 1-65535."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number (1-65535)") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (1-65535)")
    return port


def _bind_problem(host: str, port: int) -> str | None:
    """Why a server could not listen on `host:port` now, or None if it could.

    Binds the way asyncio's `create_server` (hence uvicorn) does: every address `host` resolves
    to, SO_REUSEADDR (a closed predecessor's TIME_WAIT is no clash), IPv6 sockets IPv6-only.
    """
    try:
        addresses = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"cannot listen on {host}: {exc.strerror}"
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    return IN_USE
                return f"cannot listen on {host}: {exc.strerror}"
    return None


def require_free_ports(host: str, ports: Mapping[str, int]) -> None:
    """Refuse to start (one line naming the port) if two servers share a port or one is taken.

    Run before any log or runtime file is opened, so a stack already running there keeps its files.
    """
    owners: dict[int, str] = {}
    for flag, port in ports.items():
        if port in owners:
            raise StartupError(f"{owners[port]} and {flag} are both port {port}; give each server its own")
        owners[port] = flag
        problem = _bind_problem(host, port)
        if problem == IN_USE:
            raise StartupError(f"port {port} ({flag}) is {IN_USE}; stop it or choose another {flag}")
        if problem:
            raise StartupError(f"port {port} ({flag}): {problem}")
