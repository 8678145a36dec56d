"""One benchmark request: send it, time it, and verify the answer completely."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from luthien_proxy.tooling.bench.http_client import Connection, Pool, Response
from luthien_proxy.tooling.bench.workloads import (
    CHAT_PATH,
    STREAM_CHUNKS,
    Workload,
    expected_text,
    request_body,
)

_ERROR_TEXT_MAX = 160


@dataclass
class Sample:
    """The outcome of one request: latency, time to first content chunk (streams), error if any."""

    latency_s: float
    first_chunk_s: float | None
    chunks: int
    error: str | None


class _Invalid(Exception):
    """The answer arrived but is wrong."""


def _short(value: object) -> str:
    text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
    return text if len(text) <= _ERROR_TEXT_MAX else text[:_ERROR_TEXT_MAX] + "..."


async def run_one(pool: Pool, conn: Connection, workload: Workload, index: int, upper: bool) -> Sample:
    """Send request `index` of `workload` on `conn`; the connection goes back to the pool if reusable."""
    body = request_body(workload, index)
    expected = expected_text(workload, index, upper)
    start = time.perf_counter()
    reusable = False
    try:
        response = await pool.post(conn, CHAT_PATH, body)
        if workload.stream:
            first, chunks = await _read_stream(response, expected, start)
        else:
            first, chunks = None, 0
            await _read_completion(response, expected)
        reusable = response.keep_alive
        return Sample(time.perf_counter() - start, first, chunks, None)
    except _Invalid as exc:
        return Sample(time.perf_counter() - start, None, 0, str(exc))
    except Exception as exc:
        return Sample(time.perf_counter() - start, None, 0, _short(f"{type(exc).__name__}: {exc}"))
    finally:
        pool.release(conn, reusable)


async def _read_completion(response: Response, expected: str) -> None:
    body = await response.read()
    if response.status != 200:
        raise _Invalid(_short(f"HTTP {response.status}: {body.decode(errors='replace')}"))
    try:
        content = orjson.loads(body)["choices"][0]["message"]["content"]
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError) as exc:
        raise _Invalid(_short(f"unparsable completion ({exc!r}): {body.decode(errors='replace')}")) from exc
    if content != expected:
        raise _Invalid(_short(f"wrong content {content!r}, expected {expected!r}"))


async def _read_stream(response: Response, expected: str, start: float) -> tuple[float | None, int]:
    """Parse the SSE body as it arrives; returns (time to first content chunk, content chunk count)."""
    if response.status != 200:
        raise _Invalid(_short(f"HTTP {response.status}: {(await response.read()).decode(errors='replace')}"))
    first: float | None = None
    texts: list[str] = []
    done = False
    buffer = b""
    async for part in response.iter_body():
        buffer += part.replace(b"\r\n", b"\n") if b"\r" in part else part
        while (end := buffer.find(b"\n\n")) >= 0:
            event, buffer = buffer[:end], buffer[end + 2 :]
            for line in event.split(b"\n"):
                if not line.startswith(b"data:"):
                    continue  # comments, event names, ids
                if done:
                    raise _Invalid("data after [DONE]")
                payload = line[5:].strip()
                if payload == b"[DONE]":
                    done = True
                    continue
                text = _delta_text(payload)
                if text:
                    if first is None:
                        first = time.perf_counter() - start
                    texts.append(text)
    if buffer.strip():
        raise _Invalid(_short(f"unterminated SSE event {buffer!r}"))
    if not done:
        raise _Invalid(f"stream ended without [DONE] after {len(texts)} content chunks")
    if len(texts) != STREAM_CHUNKS:
        raise _Invalid(f"stream had {len(texts)} content chunks, expected {STREAM_CHUNKS}")
    joined = "".join(texts)
    if joined != expected:
        raise _Invalid(_short(f"wrong stream content {joined!r}, expected {expected!r}"))
    return first, len(texts)


def _delta_text(payload: bytes) -> str:
    try:
        chunk: Any = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise _Invalid(_short(f"unparsable SSE data {payload!r}")) from exc
    if not isinstance(chunk, dict):
        raise _Invalid(_short(f"SSE data is not an object: {payload!r}"))
    if "error" in chunk:
        raise _Invalid(_short(f"error event: {orjson.dumps(chunk['error']).decode()}"))
    choices = chunk.get("choices") or []
    if not choices:
        return ""  # a usage-only chunk
    delta = choices[0].get("delta") or {}
    content = delta.get("content")
    return content if isinstance(content, str) else ""
