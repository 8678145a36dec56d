"""A minimal HTTP/1.1 keep-alive client on asyncio streams, so the load generator stays cheap.

Only what the benchmark needs: one POST at a time per connection, `Content-Length` or chunked
response bodies, and a per-host pool of persistent connections reused across rounds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field

# uvicorn closes idle keep-alive connections after 5 s; anything idle longer than this is replaced
# before a measured run so no request pays for a reconnect or hits a half-closed socket.
_MAX_IDLE_S = 2.0
_READ_LIMIT = 1 << 20


class HttpError(Exception):
    """The server broke the HTTP exchange (closed early, malformed framing)."""


@dataclass
class Connection:
    """One keep-alive TCP connection."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    last_used: float = field(default_factory=time.monotonic)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Response:
    """Status and headers of a response whose body is read separately (streamed or whole)."""

    status: int
    headers: dict[str, str]
    connection: Connection
    keep_alive: bool

    async def iter_body(self) -> AsyncIterator[bytes]:
        """Yield the body as it arrives: per HTTP chunk when chunked, else in one piece."""
        reader = self.connection.reader
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                line = await reader.readuntil(b"\r\n")
                size = int(line.split(b";", 1)[0], 16)
                if size == 0:
                    while (await reader.readuntil(b"\r\n")) != b"\r\n":  # trailers
                        pass
                    return
                data = await reader.readexactly(size + 2)
                yield data[:-2]
        elif "content-length" in self.headers:
            length = int(self.headers["content-length"])
            if length:
                yield await reader.readexactly(length)
        else:
            self.keep_alive = False
            while chunk := await reader.read(65536):
                yield chunk

    async def read(self) -> bytes:
        """The whole body."""
        return b"".join([part async for part in self.iter_body()])


class Pool:
    """Persistent connections to one host:port; a connection serves one request at a time."""

    def __init__(self, host: str, port: int, headers: Mapping[str, str]) -> None:
        self.host = host
        self.port = port
        self._base_headers = "".join(
            f"{k}: {v}\r\n" for k, v in {"host": f"{host}:{port}", **headers}.items()
        )
        self._idle: list[Connection] = []
        self.connects = 0

    async def _connect(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=_READ_LIMIT)
        self.connects += 1
        return Connection(reader, writer)

    async def prepare(self, count: int) -> None:
        """Have `count` fresh idle connections ready before a measured run starts."""
        now = time.monotonic()
        fresh = []
        for conn in self._idle:
            if now - conn.last_used > _MAX_IDLE_S or conn.reader.at_eof():
                conn.close()
            else:
                fresh.append(conn)
        self._idle = fresh
        missing = count - len(self._idle)
        if missing > 0:
            self._idle.extend(await asyncio.gather(*(self._connect() for _ in range(missing))))

    async def acquire(self) -> Connection:
        """An idle connection, or a new one."""
        while self._idle:
            conn = self._idle.pop()
            if not conn.reader.at_eof():
                return conn
            conn.close()
        return await self._connect()

    def release(self, conn: Connection, reusable: bool) -> None:
        """Return `conn` to the pool, or close it when the exchange left it unusable."""
        if reusable:
            conn.last_used = time.monotonic()
            self._idle.append(conn)
        else:
            conn.close()

    async def post(self, conn: Connection, path: str, body: bytes) -> Response:
        """Send a JSON POST on `conn` and read the status line and headers."""
        head = (
            f"POST {path} HTTP/1.1\r\n{self._base_headers}"
            f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n"
        )
        conn.writer.write(head.encode("latin-1") + body)
        try:
            raw = await conn.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise HttpError("connection closed before a response") from exc
        lines = raw.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"malformed status line {lines[0]!r}")
        headers: dict[str, str] = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        keep_alive = headers.get("connection", "").lower() != "close"
        return Response(int(parts[1]), headers, conn, keep_alive)

    def close(self) -> None:
        """Close every idle connection."""
        for conn in self._idle:
            conn.close()
        self._idle.clear()
