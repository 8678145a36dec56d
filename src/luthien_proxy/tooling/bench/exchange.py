"""One benchmark request: send it, time it, and verify the answer completely."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from luthien_proxy.tooling.bench.answer_check import Invalid, short
from luthien_proxy.tooling.bench.apis import Api
from luthien_proxy.tooling.bench.http_client import Connection, Pool, Response
from luthien_proxy.tooling.bench.workloads import STREAM_CHUNKS, Workload, expected_text, request_payload


@dataclass
class Sample:
    """The outcome of one request: latency, time to first content chunk (streams), error if any."""

    latency_s: float
    first_chunk_s: float | None
    chunks: int
    error: str | None


async def run_one(
    pool: Pool, conn: Connection, api: Api, workload: Workload, index: int, upper: bool
) -> Sample:
    """Send request `index` of `workload` in `api` on `conn`; the connection goes back to the pool
    if reusable."""
    body = api.body(request_payload(workload, index))
    expected = expected_text(workload, index, upper)
    start = time.perf_counter()
    reusable = False
    try:
        response = await pool.post(conn, api.path, body)
        if workload.stream:
            first, chunks = await _read_stream(response, api, expected, start)
        else:
            first, chunks = None, 0
            await _read_completion(response, api, expected)
        reusable = response.keep_alive
        return Sample(time.perf_counter() - start, first, chunks, None)
    except Invalid as exc:
        return Sample(time.perf_counter() - start, None, 0, str(exc))
    except Exception as exc:
        return Sample(time.perf_counter() - start, None, 0, short(f"{type(exc).__name__}: {exc}"))
    finally:
        pool.release(conn, reusable)


async def _read_completion(response: Response, api: Api, expected: str) -> None:
    body = await response.read()
    if response.status != 200:
        raise Invalid(short(f"HTTP {response.status}: {body.decode(errors='replace')}"))
    try:
        content = api.completion_text(orjson.loads(body))
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise Invalid(short(f"unparsable answer ({exc!r}): {body.decode(errors='replace')}")) from exc
    if content != expected:
        raise Invalid(short(f"wrong content {content!r}, expected {expected!r}"))


async def _read_stream(response: Response, api: Api, expected: str, start: float) -> tuple[float | None, int]:
    """Parse the SSE body as it arrives; returns (time to first content chunk, content chunk count)."""
    if response.status != 200:
        raise Invalid(short(f"HTTP {response.status}: {(await response.read()).decode(errors='replace')}"))
    check = api.stream_check()
    first: float | None = None
    texts: list[str] = []
    buffer = b""
    async for part in response.iter_body():
        buffer += part.replace(b"\r\n", b"\n") if b"\r" in part else part
        while (end := buffer.find(b"\n\n")) >= 0:
            event, buffer = buffer[:end], buffer[end + 2 :]
            text = check.feed(event)
            if text:
                if first is None:
                    first = time.perf_counter() - start
                texts.append(text)
    if buffer.strip():
        raise Invalid(short(f"unterminated SSE event {buffer!r}"))
    check.finish(len(texts))
    if len(texts) != STREAM_CHUNKS:
        raise Invalid(f"stream had {len(texts)} content chunks, expected {STREAM_CHUNKS}")
    joined = "".join(texts)
    if joined != expected:
        raise Invalid(short(f"wrong stream content {joined!r}, expected {expected!r}"))
    return first, len(texts)
