"""Load the native door and the demo upstream behind it alternately; print p50, req/s and the door's
added latency. Reproduces docs/benchmarks.md "Native door: what the profile showed (2026-12-04)":

    git archive <before> src | tar -x -C /tmp/old      # the code to compare with
    .venv/bin/python scripts/native_door_load.py --policy noop --src old=/tmp/old/src
    .venv/bin/python scripts/native_door_load.py --policy all_caps --src old=/tmp/old/src

Each round runs every case against the upstream, this checkout's control plane ("door") and each
`--src` one in turn, so a loaded machine slows them alike; the figures are medians over rounds.
Profiling this checkout's control plane:
    --spy FILE      py-spy (PY_SPY=path, PY_SPY_ARGS=--gil) folded stacks while the load runs
    --profile FILE  cProfile, written when it stops
    CP_PREFIX=...   any interpreter arguments before `-m luthien_proxy` (a wrapper script)
The servers are child processes as in `luthien bench`: SQLite, no Redis, the shipped policy file.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import yaml

from luthien_proxy.tooling.bench.http_client import Pool
from luthien_proxy.tooling.stack.processes import child_env, free_port, wait_until_healthy

HOST = "127.0.0.1"
REPO = Path(__file__).resolve().parents[1]
KEY = "sk-native-load"
PATHS = {"openai": "/v1/chat/completions", "anthropic": "/v1/messages"}


def body(api: str, stream: bool) -> bytes:
    msg = [{"role": "user", "content": "hello there, how are you doing today? " * 3}]
    if api == "anthropic":
        return orjson.dumps({"model": "demo-echo", "max_tokens": 1024, "messages": msg, "stream": stream})
    return orjson.dumps({"model": "demo-echo", "messages": msg, "stream": stream})


def spawn(
    args: list[str], env: dict[str, str], log: Path, prefix: list[str], src: str | None = None
) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in child_env().items() if not k.startswith(("LUTHIEN_", "LITELLM_"))}
    if src:
        base["PYTHONPATH"] = src
    base.pop("DATABASE_URL", None)
    base.pop("REDIS_URL", None)
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, *prefix, "-m", "luthien_proxy", *args],
            env={**base, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def run_load(port: int, api: str, stream: bool, conc: int, total: int) -> tuple[float, float]:
    """(p50 ms, req/s) of `total` requests, `conc` at a time."""
    headers = {"authorization": f"Bearer {KEY}", "x-api-key": KEY, "anthropic-version": "2023-06-01"}
    pool = Pool(HOST, port, headers)
    await pool.prepare(conc)
    payload = body(api, stream)
    path = PATHS[api]
    times: list[float] = []
    left = total

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            conn = await pool.acquire()
            t0 = time.perf_counter()
            resp = await pool.post(conn, path, payload)
            data = await resp.read()
            times.append(time.perf_counter() - t0)
            assert resp.status == 200, (resp.status, data[:200])
            pool.release(conn, resp.keep_alive)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conc)))
    elapsed = time.perf_counter() - t0
    pool.close()
    return statistics.median(times) * 1000, total / elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--policy", default="noop", choices=["noop", "all_caps"])
    parser.add_argument("--profile", help="run the control plane under cProfile, writing here")
    parser.add_argument("--spy", help="sample the control plane with py-spy (raw folded stacks) here")
    parser.add_argument(
        "--src",
        action="append",
        default=[],
        help="label=DIR: also a control plane running the code in DIR "
        "(e.g. an older checkout's src), measured alternately with this one",
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--cases", default="openai:ns:1,openai:ns:32,openai:st:1,anthropic:ns:1,anthropic:st:1"
    )
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="native-load-"))
    up_port, cp_port = free_port(), free_port()
    up = spawn(["demo-upstream", "--log-level", "warning", "--port", str(up_port)], {}, work / "up.log", [])
    wait_until_healthy(f"http://{HOST}:{up_port}/health", up, 60)
    base = f"http://{HOST}:{up_port}"
    models = [
        {
            "model_name": "demo-echo",
            "litellm_params": {"model": f"{p}/demo-echo", "api_base": b, "api_key": "x"},
        }
        for p, b in (("openai", f"{base}/v1"), ("anthropic", base))
    ]
    (work / "models.yaml").write_text(yaml.safe_dump({"model_list": models}))
    policy_file = REPO / "config" / ("all_caps.yaml" if args.policy == "all_caps" else "luthien_config.yaml")
    env = {
        "LUTHIEN_POLICY_CONFIG": str(policy_file),
        "LUTHIEN_LOG_LEVEL": "warning",
        "LUTHIEN_MODEL_CONFIG": str(work / "models.yaml"),
        "LITELLM_MASTER_KEY": KEY,
        "DATABASE_URL": f"sqlite:///{work / 'cp.db'}",
        "REDIS_URL": "",
    }
    prefix = (
        ["-m", "cProfile", "-o", args.profile] if args.profile else os.environ.get("CP_PREFIX", "").split()
    )
    doors: dict[str, tuple[int, subprocess.Popen[bytes]]] = {}
    for label, src in [("door", None), *(item.split("=", 1) for item in args.src)]:
        port = cp_port if src is None else free_port()
        cp_env = {**env, "DATABASE_URL": f"sqlite:///{work / (label + '.db')}"}
        command = ["control-plane", "--host", HOST, "--port", str(port)]
        doors[label] = (
            port,
            spawn(command, cp_env, work / f"{label}.log", prefix if src is None else [], src),
        )
    cp = doors["door"][1]
    try:
        for port, proc in doors.values():
            wait_until_healthy(f"http://{HOST}:{port}/health", proc, 60)
        cases = [c.split(":") for c in args.cases.split(",")]
        spy = None
        if args.spy:
            spy = subprocess.Popen(
                [
                    os.environ.get("PY_SPY", "py-spy"),
                    "record",
                    "--pid",
                    str(cp.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "500",
                    "--nonblocking",
                    *os.environ.get("PY_SPY_ARGS", "").split(),
                    "-o",
                    args.spy,
                ],
                stdout=subprocess.DEVNULL,
            )
            time.sleep(1)
        results: dict[str, list[tuple[float, float]]] = {}
        for _ in range(args.rounds):
            for api, kind, conc in cases:
                for name, port in (("upstream", up_port), *((k, v[0]) for k, v in doors.items())):
                    n = args.requests if int(conc) == 1 else args.requests * 2
                    asyncio.run(run_load(port, api, kind == "st", int(conc), min(200, n)))  # warm
                    r = asyncio.run(run_load(port, api, kind == "st", int(conc), n))
                    results.setdefault(f"{api} {kind} c={conc} {name}", []).append(r)
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(30)
        for label, rs in results.items():
            p50 = statistics.median(r[0] for r in rs)
            rps = statistics.median(r[1] for r in rs)
            print(f"{label:32s} p50 {p50:7.3f} ms  {rps:8.0f} req/s   rounds {[round(r[0], 3) for r in rs]}")
        for api, kind, conc in cases:
            key = f"{api} {kind} c={conc}"
            u = results[f"{key} upstream"]
            for label in doors:
                d = results[f"{key} {label}"]
                added = statistics.median(r[0] for r in d) - statistics.median(r[0] for r in u)
                share = statistics.median(r[1] for r in d) / statistics.median(r[1] for r in u)
                print(f"{key:20s} {label:8s} added p50 {added * 1000:6.0f} us   door/upstream {share:5.1%}")
    finally:
        for _, proc in doors.values():
            proc.send_signal(signal.SIGINT)
        for _, proc in doors.values():
            proc.wait(60)
        up.terminate()
        up.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
