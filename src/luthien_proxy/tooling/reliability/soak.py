"""`luthien soak`: hold many concurrent streams through each front door for minutes, and check that
nothing fails, memory stays flat and every stream-context key is cleared at the end.

It starts `luthien up --demo` on free loopback ports (on Postgres + Redis when their URLs are set,
so the stream keys are inspected in Redis itself) and drives it with the official openai SDK.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import httpx
import openai

from luthien_proxy.tooling.stack.running import luthien_up

CHUNKS = 50  # what the demo upstream's `demo-long` streams by default
EXPECTED_TEXT = "".join(f"chunk {n} " for n in range(CHUNKS))

#: The part of docs/reliability.md that is not measured by the soak: what the fault tests show.
PREAMBLE = (resources.files("luthien_proxy.tooling.reliability") / "reliability_preamble.md").read_text()


@dataclass
class DoorResult:
    door: str
    streams: int = 0
    errors: list[str] = field(default_factory=list)
    rss_mb: list[tuple[float, float]] = field(default_factory=list)  # (seconds, control-plane RSS)


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _control_plane_pid(port: int) -> int:
    pattern = f"control-plane --host 127.0.0.1 --port {port}"
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return int(out.stdout.split()[0])


async def _worker(client: openai.AsyncOpenAI, deadline: float, result: DoorResult) -> None:
    while time.monotonic() < deadline:
        try:
            stream = await client.chat.completions.create(
                model="demo-long", messages=[{"role": "user", "content": "soak"}], stream=True
            )
            text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
            # Compare text, not chunk counts: LiteLLM's response cache replays a stream re-chunked.
            if text != EXPECTED_TEXT:
                result.errors.append(f"stream text differs: {text[:80]!r}...")
            result.streams += 1
        except Exception as exc:  # every failure is a finding; keep going to count them all
            result.errors.append(f"{type(exc).__name__}: {str(exc)[:200]}")


async def soak_door(
    door: str, base_url: str, key: str, streams: int, seconds: float, cp_pid: int
) -> DoorResult:
    result = DoorResult(door)
    client = openai.AsyncOpenAI(
        base_url=base_url,
        api_key=key,
        max_retries=0,
        timeout=120,
        http_client=httpx.AsyncClient(limits=httpx.Limits(max_connections=streams + 10), timeout=120),
    )
    started = time.monotonic()
    deadline = started + seconds
    workers = [asyncio.create_task(_worker(client, deadline, result)) for _ in range(streams)]
    while not all(w.done() for w in workers):
        result.rss_mb.append((time.monotonic() - started, _rss_mb(cp_pid)))
        await asyncio.wait(workers, timeout=min(10.0, max(1.0, seconds / 10)))
    result.rss_mb.append((time.monotonic() - started, _rss_mb(cp_pid)))
    await client.close()
    return result


async def _leftover_stream_keys(redis_url: str | None, control_plane: str) -> int:
    if redis_url:
        import redis.asyncio as redis

        client = redis.Redis.from_url(redis_url)
        try:
            return len([key async for key in client.scan_iter("stream:*")])
        finally:
            await client.aclose()
    async with httpx.AsyncClient() as http:
        return int(
            (await http.get(f"{control_plane}/health")).json()["stream_context"].get("active_calls", 0)
        )


def run_soak(streams: int, seconds: float, doors: list[str], output: Path | None) -> int:
    """Run the soak; print and optionally write a report; exit code 1 on any failure."""
    results: list[DoorResult] = []
    # Keep the caller's backends: with REDIS_URL set, the stream keys are checked in Redis itself.
    backends = {name: os.environ.get(name, "") for name in ("DATABASE_URL", "REDIS_URL")}
    with luthien_up(Path(tempfile.mkdtemp(prefix="luthien-soak-")), env=backends) as stack:
        cp_pid = _control_plane_pid(int(stack.control_plane_url.rsplit(":", 1)[1]))
        for door in doors:
            print(
                f"soak: {streams} concurrent streams through the {door} door for {seconds:g}s ...", flush=True
            )
            results.append(
                asyncio.run(soak_door(door, stack.door_url(door), stack.api_key, streams, seconds, cp_pid))
            )
        leftover = asyncio.run(_leftover_stream_keys(backends["REDIS_URL"] or None, stack.control_plane_url))
    report = render(
        results, leftover, streams, seconds, "Postgres + Redis" if backends["REDIS_URL"] else "embedded"
    )
    print(report)
    if output is not None:
        command = f"luthien soak --streams {streams} --seconds {seconds:g} --doors {','.join(doors)}"
        output.write_text(PREAMBLE + f"\n## Soak\n\nCommand (`make soak`): `{command}`\n\n" + report)
    failed = leftover or any(r.errors for r in results) or any(_grew(r) for r in results)
    return 1 if failed else 0


def _grew(result: DoorResult) -> bool:
    """Unbounded growth: the last third of the samples well above the first third's peak."""
    samples = [rss for _, rss in result.rss_mb]
    if len(samples) < 6:
        return False
    third = len(samples) // 3
    return min(samples[-third:]) > 1.5 * max(samples[:third])


def render(
    results: list[DoorResult], leftover: int, streams: int, seconds: float, backends: str = "embedded"
) -> str:
    lines = [
        f"Soak: {streams} concurrent streams of {CHUNKS} chunks per door, {seconds:g} s per door, "
        f"on {backends}.",
        "",
        "| door | streams completed | errors | control-plane RSS start → peak → end (MB) | memory flat |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        samples = [rss for _, rss in r.rss_mb] or [0.0]
        memory = f"{samples[0]:.0f} → {max(samples):.0f} → {samples[-1]:.0f}"
        flat = "no" if _grew(r) else "yes"
        lines.append(f"| {r.door} | {r.streams} | {len(r.errors)} | {memory} | {flat} |")
    lines += ["", f"Stream-context keys left after the run: {leftover}."]
    for r in results:
        for error in r.errors[:5]:
            lines.append(f"- {r.door}: {error}")
    return "\n".join(lines) + "\n"
