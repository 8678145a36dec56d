"""`Supervisor`: starts child processes in order, waits until each is healthy, and stops them all
when one dies, when asked to, or when the start fails in any way — the process model behind
`luthien up`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from luthien_proxy.control_plane import StartupError
from luthien_proxy.instance_id import INSTANCE_ENV, INSTANCE_HEADER, new_instance_id

_POLL_SECONDS = 0.1
_STOP_GRACE_SECONDS = 15.0
# The last line of a traceback (`OSError: ...`), a logged error (uvicorn's `ERROR:`, our
# `... ERROR   name: ...`) and a luthien command's own one-line refusal, best first.
_CAUSES = (
    re.compile(r"^luthien: "),
    re.compile(r"^(?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*(?:Error|Exception)(?::|$)"),
    re.compile(r"^ERROR:|\sERROR\s"),
)
# What a server that stops on a fatal error raises on the way out: never the cause.
_NOT_CAUSES = re.compile(r"CancelledError|KeyboardInterrupt")


@dataclass(frozen=True)
class ChildSpec:
    name: str
    args: Sequence[str]
    env: Mapping[str, str | None]  # None removes an inherited variable
    health_url: str  # must echo the child's `INSTANCE_ENV` in `INSTANCE_HEADER` (see instance_id)
    port: int
    startup_timeout: float = 60.0


@dataclass
class _Child:
    spec: ChildSpec
    instance: str
    log_path: Path
    process: asyncio.subprocess.Process
    waiter: asyncio.Task[int] = field(init=False)

    def __post_init__(self) -> None:
        self.waiter = asyncio.create_task(self.process.wait(), name=f"wait-{self.spec.name}")

    def cause(self) -> str | None:
        """The line of the child's log that says why it failed, if it said."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        lines = [line.lstrip(" |").rstrip() for line in text.splitlines()]
        lines = [line for line in lines if line and not _NOT_CAUSES.search(line)]
        for pattern in _CAUSES:
            found = [line for line in lines if pattern.search(line)]
            if found:
                return found[-1]
        return None

    def failure(self, problem: str, then: str = "") -> str:
        """One line: which child, what went wrong, the cause from its log, `then` (what happens
        next), and where the log is."""
        cause = self.cause()
        return f"{self.spec.name} {problem}{f': {cause}' if cause else ''}{then} (log: {self.log_path})"


class Supervisor:
    """Children in start order; output of each goes to `<log_dir>/<name>.log`."""

    def __init__(self, specs: Sequence[ChildSpec], log_dir: Path) -> None:
        self.specs = specs
        self.log_dir = log_dir
        self.children: list[_Child] = []

    async def start(self, stop: asyncio.Event) -> bool:
        """Start every child and wait until it is healthy; False if `stop` was set meanwhile.

        Raises `StartupError` (one line, the cause) if a child fails; whatever goes wrong, a start
        that does not finish leaves no child running.
        """
        try:
            return await self._start_all(stop)
        except BaseException:
            await self.stop()
            raise

    async def _start_all(self, stop: asyncio.Event) -> bool:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        async with httpx.AsyncClient(timeout=1.0) as http:
            for spec in self.specs:
                print(f"  starting {spec.name:<14} ", end="", flush=True)
                started = time.monotonic()
                child = await self._spawn(spec)
                problem = await self._wait_healthy(child, http, stop)
                if stop.is_set():
                    print("interrupted", flush=True)
                    await self.stop()
                    return False
                if problem:
                    print("FAILED", flush=True)
                    raise StartupError(child.failure(problem))
                print(f"ready in {time.monotonic() - started:.1f}s  ({spec.health_url})", flush=True)
        return True

    async def supervise(self, stop: asyncio.Event) -> int:
        """Run until `stop` is set (exit 0) or a child exits (exit 1, naming it)."""
        stopper = asyncio.create_task(stop.wait())
        try:
            done, _ = await asyncio.wait(
                {stopper, *(c.waiter for c in self.children)}, return_when="FIRST_COMPLETED"
            )
        finally:
            stopper.cancel()
        died = [c for c in self.children if c.waiter in done]
        if died:
            child = died[0]
            problem = f"exited with code {child.waiter.result()}"
            print(f"\nluthien: {child.failure(problem, '; stopping the others')}", flush=True)
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
        instance = new_instance_id()
        with log_path.open("wb") as log:  # the child keeps its own descriptor
            process = await asyncio.create_subprocess_exec(
                *spec.args,
                env=_child_environment({**spec.env, INSTANCE_ENV: instance}),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                # Ctrl-C reaches the supervisor only; it stops the children in order.
                start_new_session=True,
            )
        child = _Child(spec, instance, log_path, process)
        self.children.append(child)
        return child

    async def _wait_healthy(self, child: _Child, http: httpx.AsyncClient, stop: asyncio.Event) -> str | None:
        """None once the child itself answers its health URL (or `stop` is set); otherwise what
        went wrong."""
        spec = child.spec
        deadline = time.monotonic() + spec.startup_timeout
        while time.monotonic() < deadline and not stop.is_set():
            if child.waiter.done():
                return f"exited with code {child.waiter.result()} during start-up"
            try:
                response = await http.get(spec.health_url)
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 200:
                if response.headers.get(INSTANCE_HEADER) != child.instance:
                    # Our child would carry its id: another server holds the port.
                    return f"could not take port {spec.port}: it is in use by another process"
                return None
            await asyncio.sleep(_POLL_SECONDS)
        return None if stop.is_set() else f"was not healthy within {spec.startup_timeout:g}s"


def _child_environment(overrides: Mapping[str, str | None]) -> dict[str, str]:
    env = {**os.environ, **overrides}
    return {key: value for key, value in env.items() if value is not None}
