"""One benchmark request: send it, time it, and verify the answer completely."""

from __future__ import annotations

import time
from dataclasses import dataclass

import orjson

from luthien_proxy.tooling.bench.answer_check import Call, Invalid, short
from luthien_proxy.tooling.bench.apis import Api
from luthien_proxy.tooling.bench.http_client import Connection, Pool, Response
from luthien_proxy.tooling.bench.workloads import (
    DANGEROUS_COMMAND,
    Expected,
    Workload,
    expected,
    request_payload,
)


@dataclass(frozen=True)
class Asked:
    """What one target is asked for and how its answers are checked."""

    api: Api
    upper: bool  # AllCaps: text answers come back upper-cased
    tool_calls: bool  # demo-agent turns whose answer is one harmless tool call
    quick: bool = False


@dataclass
class Sample:
    """The outcome of one request: latency, time to first content chunk (streams), error if any."""

    latency_s: float
    first_chunk_s: float | None
    chunks: int
    error: str | None


async def run_one(
    pool: Pool, conn: Connection, asked: Asked, workload: Workload, index: int, probe: bool = False
) -> Sample:
    """Send request `index` of `workload` on `conn`; the connection goes back to the pool if reusable.
    A `probe` asks for DANGEROUS_COMMAND instead, whose call the tool guard must block."""
    api = asked.api
    run = DANGEROUS_COMMAND if probe else None
    body = api.body(request_payload(workload, index, asked.tool_calls, asked.quick, run))
    want = (
        Expected("", blocked=True)
        if probe
        else expected(workload, index, upper=asked.upper, tool_calls=asked.tool_calls)
    )
    start = time.perf_counter()
    reusable = False
    try:
        response = await pool.post(conn, api.path, body)
        if workload.stream:
            first, chunks = await _read_stream(response, api, want, start)
        else:
            first, chunks = None, 0
            await _read_completion(response, api, want)
        reusable = response.keep_alive
        return Sample(time.perf_counter() - start, first, chunks, None)
    except Invalid as exc:
        return Sample(time.perf_counter() - start, None, 0, str(exc))
    except Exception as exc:
        return Sample(time.perf_counter() - start, None, 0, short(f"{type(exc).__name__}: {exc}"))
    finally:
        pool.release(conn, reusable)


def _verify(text: str, calls: list[Call], want: Expected, what: str) -> None:
    """The answer holds exactly the expected text and tool calls (a blocked call shows as its message)."""
    if want.blocked:
        if calls or not text:
            raise Invalid(
                short(f"the tool guard let {DANGEROUS_COMMAND!r} through: {calls!r}, text {text!r}")
            )
        return
    wanted_calls = [want.call] if want.call else []
    if calls != wanted_calls:
        raise Invalid(
            short(f"{what} has tool calls {calls!r} and text {text!r}, expected calls {wanted_calls!r}")
        )
    if text != want.text:
        raise Invalid(short(f"wrong {what} content {text!r}, expected {want.text!r}"))


async def _read_completion(response: Response, api: Api, want: Expected) -> None:
    body = await response.read()
    if response.status != 200:
        raise Invalid(short(f"HTTP {response.status}: {body.decode(errors='replace')}"))
    try:
        text, calls = api.completion(orjson.loads(body))
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise Invalid(short(f"unparsable answer ({exc!r}): {body.decode(errors='replace')}")) from exc
    _verify(text, calls, want, "answer")


async def _read_stream(
    response: Response, api: Api, want: Expected, start: float
) -> tuple[float | None, int]:
    """Parse the SSE body as it arrives; returns (time to the first chunk of content or of a tool
    call, how many events carried content or call fragments)."""
    if response.status != 200:
        raise Invalid(short(f"HTTP {response.status}: {(await response.read()).decode(errors='replace')}"))
    check = api.stream_check()
    first: float | None = None
    texts: list[str] = []
    chunks = 0
    buffer = b""
    async for part in response.iter_body():
        buffer += part.replace(b"\r\n", b"\n") if b"\r" in part else part
        while (end := buffer.find(b"\n\n")) >= 0:
            event, buffer = buffer[:end], buffer[end + 2 :]
            fragments = check.streamed.fragments
            text = check.feed(event)
            if text or check.streamed.fragments != fragments:
                if first is None:
                    first = time.perf_counter() - start
                chunks += 1
            if text:
                texts.append(text)
    if buffer.strip():
        raise Invalid(short(f"unterminated SSE event {buffer!r}"))
    check.finish(chunks)
    try:
        calls = check.streamed.calls()
    except (KeyError, TypeError) as exc:
        raise Invalid(short(f"malformed streamed tool call ({exc!r})")) from exc
    _verify("".join(texts), calls, want, "stream")
    if want.chunks is not None and len(texts) != want.chunks:
        raise Invalid(f"stream had {len(texts)} content chunks, expected {want.chunks}")
    return first, chunks
