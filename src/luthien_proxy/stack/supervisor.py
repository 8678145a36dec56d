"""`Supervisor`: starts child processes in order, waits until each is healthy, and stops them all
when one dies or when asked to — the process model behind `luthien up`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

_POLL_SECONDS = 0.1
_STOP_GRACE_SECONDS = 15.0


@dataclass(frozen=True)
class ChildSpec:
    name: str
    args: Sequence[str]
    env: Mapping[str, str | None]  # None removes an inherited variable
    health_url: str
    startup_timeout: float = 60.0


@dataclass
class _Child:
    spec: ChildSpec
    log_path: Path
    process: asyncio.subprocess.Process
    waiter: asyncio.Task[int] = field(init=False)

    def __post_init__(self) -> None:
        self.waiter = asyncio.create_task(self.process.wait(), name=f"wait-{self.spec.name}")

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join("    " + line for line in text.splitlines()[-lines:])


class Supervisor:
    """Children in start order; output of each goes to `<log_dir>/<name>.log`."""

    def __init__(self, specs: Sequence[ChildSpec], log_dir: Path) -> None:
        self.specs = specs
        self.log_dir = log_dir
        self.children: list[_Child] = []

    async def start(self, stop: asyncio.Event) -> bool:
        """Start every child and wait until it is healthy; False (everything stopped) if any fails."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        async with httpx.AsyncClient(timeout=1.0) as http:
            for spec in self.specs:
                print(f"  starting {spec.name:<14} ", end="", flush=True)
                started = time.monotonic()
                child = await self._spawn(spec)
                problem = await self._wait_healthy(child, http, stop)
                if problem:
                    print(f"FAILED\nluthien: {spec.name} {problem}; last lines of {child.log_path}:")
                    print(child.log_tail(), flush=True)
                    await self.stop()
                    return False
                print(f"ready in {time.monotonic() - started:.1f}s  ({spec.health_url})", flush=True)
        return True

    async def supervise(self, stop: asyncio.Event) -> int:
        """Run until `stop` is set (exit 0) or a child exits (exit 1, naming it)."""
        stopper = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait(
            {stopper, *(c.waiter for c in self.children)}, return_when="FIRST_COMPLETED"
        )
        stopper.cancel()
        died = [c for c in self.children if c.waiter in done]
        if died:
            child = died[0]
            print(
                f"\nluthien: {child.spec.name} exited with code {child.waiter.result()}; stopping the others."
            )
            print(f"last lines of {child.log_path}:\n{child.log_tail()}", flush=True)
        else:
            print("\nluthien: stopping ...", flush=True)
        await self.stop()
        return 1 if died else 0

    async def stop(self) -> None:
        """SIGTERM every running child (newest first), then SIGKILL what outlives the grace period."""
        for child in reversed(self.children):
            if child.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    child.process.terminate()
        for child in reversed(self.children):
            try:
                await asyncio.wait_for(asyncio.shield(child.waiter), _STOP_GRACE_SECONDS)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()
                await child.waiter

    async def _spawn(self, spec: ChildSpec) -> _Child:
        log_path = self.log_dir / f"{spec.name}.log"
        with log_path.open("wb") as log:  # the child keeps its own descriptor
            process = await asyncio.create_subprocess_exec(
                *spec.args,
                env=_child_environment(spec.env),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                # Ctrl-C reaches the supervisor only; it stops the children in order.
                start_new_session=True,
            )
        child = _Child(spec, log_path, process)
        self.children.append(child)
        return child

    async def _wait_healthy(self, child: _Child, http: httpx.AsyncClient, stop: asyncio.Event) -> str | None:
        deadline = time.monotonic() + child.spec.startup_timeout
        while time.monotonic() < deadline:
            if stop.is_set():
                return "start-up interrupted"
            if child.waiter.done():
                return f"exited with code {child.waiter.result()} during start-up"
            try:
                if (await http.get(child.spec.health_url)).status_code == 200:
                    return None
            except httpx.HTTPError:
                pass
            await asyncio.sleep(_POLL_SECONDS)
        return f"was not healthy within {child.spec.startup_timeout:g}s"


def _child_environment(overrides: Mapping[str, str | None]) -> dict[str, str]:
    env = {**os.environ, **overrides}
    return {key: value for key, value in env.items() if value is not None}
