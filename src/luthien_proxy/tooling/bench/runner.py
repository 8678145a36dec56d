"""Runs the benchmark: start the targets, warm them up, alternate rounds over them, collect figures."""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from luthien_proxy.tooling.bench import procstats
from luthien_proxy.tooling.bench.apis import APIS
from luthien_proxy.tooling.bench.exchange import Asked, run_one
from luthien_proxy.tooling.bench.http_client import Pool
from luthien_proxy.tooling.bench.results import Cell, RoundRun, aggregate
from luthien_proxy.tooling.bench.targets import HOST, Stack, Target
from luthien_proxy.tooling.bench.workloads import DANGEROUS_COMMAND, WORKLOADS, Workload, select

# Servers finish some work after the last response (batched debug-log writes, async logging
# callbacks); waiting this long before reading their CPU time charges it to the run that caused it.
_SETTLE_S = 0.3
_QUICK_SETTLE_S = 0.02  # a quick run's figures are a smoke, not measurements
T = TypeVar("T")
_WARMUP_REQUESTS = {"ns-c1": 10, "ns-c32": 32, "st-c1": 5, "st-c16": 16, "st-real": 16}
_QUICK_WARMUP_REQUESTS = 2


@dataclass(frozen=True)
class Options:
    """What to run: targets, rounds, requests per target/workload/round (None: per-workload default),
    and which workloads (keys of WORKLOADS; all when not given)."""

    targets: list[str]
    rounds: int
    requests: int | None
    quick: bool
    workloads: list[str] = field(default_factory=lambda: [w.key for w in WORKLOADS])

    @property
    def chosen(self) -> tuple[Workload, ...]:
        return select(self.workloads)


@dataclass
class BenchResult:
    """Everything a report needs."""

    options: Options
    cells: list[Cell]
    warmup_errors: Counter[str]
    rss_mb: dict[str, float]  # server name -> VmRSS after the run
    control_planes: list[str]
    dead_servers: list[str]
    duration_s: float
    startup_s: float
    client_connects: int
    background_cores: float  # CPU other processes on the machine used while we measured, in cores
    load_before: str
    runs: list[RoundRun] = field(default_factory=list)

    @property
    def total_errors(self) -> int:
        return sum(c.errors for c in self.cells) + sum(self.warmup_errors.values()) + len(self.dead_servers)


def log(message: str) -> None:
    """Progress goes to stderr so stdout carries only the report."""
    print(message, file=sys.stderr, flush=True)


class Bench:
    """One benchmark session over a started Stack."""

    def __init__(self, stack: Stack, options: Options) -> None:
        self.stack = stack
        self.options = options
        self.pools = {
            key: Pool(HOST, target.port, APIS[target.spec.api].auth(target.api_key))
            for key, target in stack.targets.items()
        }
        self.asked = {
            key: Asked(APIS[t.spec.api], t.spec.upper, t.spec.tool_calls, options.quick)
            for key, t in stack.targets.items()
        }
        self.indexes = itertools.count()
        assert stack.upstream is not None
        self.upstream_pid = stack.upstream.pid

    async def measure(
        self, target: Target, workload: Workload, count: int, round_no: int, settle_s: float = _SETTLE_S
    ) -> RoundRun:
        """Run `count` requests of `workload` against `target` with `workload.concurrency` workers,
        then wait `settle_s` before reading the servers' CPU time."""
        pool = self.pools[target.spec.key]
        asked = self.asked[target.spec.key]
        await pool.prepare(workload.concurrency)
        latencies: list[float] = []
        firsts: list[float] = []
        chunks = 0
        errors: Counter[str] = Counter()
        remaining = count

        async def worker() -> None:
            nonlocal remaining, chunks
            while remaining > 0:
                remaining -= 1
                conn = await pool.acquire()
                sample = await run_one(pool, conn, asked, workload, next(self.indexes))
                if sample.error is not None:
                    errors[sample.error] += 1
                    continue
                latencies.append(sample.latency_s)
                chunks += sample.chunks
                if sample.first_chunk_s is not None:
                    firsts.append(sample.first_chunk_s)

        servers0 = {s.name: procstats.cpu_seconds(s.pid) for s in target.servers}
        upstream0 = procstats.cpu_seconds(self.upstream_pid)
        client0 = procstats.self_cpu_seconds()
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(workload.concurrency)))
        elapsed = time.perf_counter() - start
        client1 = procstats.self_cpu_seconds()
        await asyncio.sleep(settle_s)
        by_process = {s.name: procstats.cpu_seconds(s.pid) - servers0[s.name] for s in target.servers}
        return RoundRun(
            target=target.spec.key,
            workload=workload,
            round=round_no,
            latencies_s=latencies,
            first_chunk_s=firsts,
            chunks=chunks,
            elapsed_s=elapsed,
            server_cpu_s=sum(by_process.values()),
            process_cpu_s=by_process,
            upstream_cpu_s=procstats.cpu_seconds(self.upstream_pid) - upstream0,
            client_cpu_s=client1 - client0,
            errors=errors,
        )

    async def warm_up(self) -> Counter[str]:
        """A few requests of each workload per target, so first-call costs stay out of the figures."""
        errors: Counter[str] = Counter()
        for target in self.stack.targets.values():
            for workload in self.options.chosen:
                count = _QUICK_WARMUP_REQUESTS if self.options.quick else _WARMUP_REQUESTS[workload.key]
                run = await self.measure(target, workload, count, 0, settle_s=0.0)  # figures unused
                errors.update({f"{target.spec.key} {workload.key}: {m}": n for m, n in run.errors.items()})
        return errors

    async def rounds(self) -> list[RoundRun]:
        """Alternate: each round runs every workload on every target, rotating the target order."""
        runs: list[RoundRun] = []
        keys = list(self.stack.targets)
        for round_no in range(1, self.options.rounds + 1):
            shift = (round_no - 1) % len(keys)
            order = keys[shift:] + keys[:shift]  # no target always runs first (or right after another)
            for workload in self.options.chosen:
                count = workload.request_count(self.options.quick, self.options.requests)
                for key in order:
                    settle = _QUICK_SETTLE_S if self.options.quick else _SETTLE_S
                    run = await self.measure(self.stack.targets[key], workload, count, round_no, settle)
                    runs.append(run)
                    _log_run(run)
        return runs

    async def probe(self) -> Counter[str]:
        """One dangerous call per tool-guard target, which must come back blocked: the figures of a
        guard that released everything would measure nothing."""
        errors: Counter[str] = Counter()
        workload = WORKLOADS[0]  # non-stream c=1
        for key, target in self.stack.targets.items():
            if target.spec.policy != "tool_guard":
                continue
            pool = self.pools[key]
            await pool.prepare(1)
            conn = await pool.acquire()
            sample = await run_one(pool, conn, self.asked[key], workload, next(self.indexes), probe=True)
            if sample.error is not None:
                errors[f"{key} blocking probe: {sample.error}"] += 1
            else:
                log(f"  {key}: the tool guard blocked the probe's {DANGEROUS_COMMAND!r}")
        return errors

    def close(self) -> None:
        for pool in self.pools.values():
            pool.close()


def _log_run(run: RoundRun) -> None:
    p50 = sorted(run.latencies_s)[len(run.latencies_s) // 2] * 1e3 if run.latencies_s else float("nan")
    rps = run.requests / run.elapsed_s if run.elapsed_s else 0.0
    flag = f"  {sum(run.errors.values())} ERRORS" if run.errors else ""
    log(
        f"  round {run.round} {run.workload.key:<6} {run.target}: {run.requests:4d} ok, "
        f"p50 {p50:7.2f} ms, {rps:7.1f} req/s{flag}"
    )


async def _session(stack: Stack, options: Options) -> tuple[Counter[str], list[RoundRun], int]:
    bench = Bench(stack, options)
    try:
        log("warming up ...")
        warmup_errors = await bench.warm_up()
        warmup_errors.update(await bench.probe())
        log(f"measuring {options.rounds} round(s) ...")
        runs = await bench.rounds()
        return warmup_errors, runs, sum(p.connects for p in bench.pools.values())
    finally:
        bench.close()


def run_benchmark(options: Options, workdir: Path | None = None) -> BenchResult:
    """Start everything, run the rounds, tear everything down; never leaves a server running."""
    began = time.perf_counter()
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="luthien-bench-") as tmp:
        stack = Stack(workdir or Path(tmp), options.targets)
        try:
            log(f"starting servers for targets {','.join(options.targets)} in {stack.workdir} ...")
            stack.start()
            startup = time.perf_counter() - began
            log(f"all servers healthy after {startup:.1f} s")
            busy0, ours0, wall0 = procstats.system_busy_seconds(), _our_cpu(stack), time.perf_counter()
            warmup_errors, runs, connects = _run(_session(stack, options))
            foreign_s = procstats.system_busy_seconds() - busy0 - (_our_cpu(stack) - ours0)
            background = max(0.0, foreign_s / (time.perf_counter() - wall0))
            dead = [s.name for s in stack.dead_servers()]
            rss = {s.name: procstats.rss_bytes(s.pid) / 2**20 for s in stack.servers if s.proc.poll() is None}
            control_planes = sorted({t.control_plane.name for t in stack.targets.values() if t.control_plane})
        finally:
            stack.close()
    return BenchResult(
        options=options,
        cells=aggregate(runs),
        warmup_errors=warmup_errors,
        rss_mb=rss,
        control_planes=control_planes,
        dead_servers=dead,
        duration_s=time.perf_counter() - began,
        startup_s=startup,
        client_connects=connects,
        background_cores=background,
        load_before=load_before,
        runs=runs,
    )


def _our_cpu(stack: Stack) -> float:
    """CPU time of this process and every live server it started."""
    live = [s for s in stack.servers if s.proc.poll() is None]
    return procstats.self_cpu_seconds() + sum(procstats.cpu_seconds(s.pid).ticks_s for s in live)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run the session on uvloop when available: the client's own CPU cost is part of every figure."""
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)
