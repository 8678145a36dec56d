"""Real processes for end-to-end tests: free ports, readiness polling, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from luthien_proxy.tooling.stack.processes import free_port, stop

__all__ = ["ManagedProcess", "free_port", "luthien"]


class ManagedProcess:
    """A child process whose output goes to a log file, stopped (and reaped) on exit."""

    def __init__(
        self, args: Sequence[str], *, env: Mapping[str, str] | None = None, cwd: Path | None = None, log: Path
    ) -> None:
        self.log_path = log
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            list(args), env={**os.environ, **(env or {})}, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT
        )

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait_http_ok(
        self, url: str, timeout: float = 30.0, until: Callable[[Any], bool] | None = None
    ) -> httpx.Response:
        """Poll `url` until it answers 200 (with a JSON body `until` accepts, if given); fail with
        the process log if it dies or times out."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"process exited with {self.process.returncode}:\n{self.output()}")
            try:
                response = httpx.get(url, timeout=1.0)
                if response.status_code == 200 and (until is None or until(response.json())):
                    return response
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"{url} not ready within {timeout}s:\n{self.output()}")

    def wait_for_output(self, text: str, timeout: float = 60.0) -> None:
        """Poll the log until `text` appears; fail with the log if the process dies or times out."""
        deadline = time.monotonic() + timeout
        while text not in self.output():
            if self.process.poll() is not None:
                raise AssertionError(f"process exited with {self.process.returncode}:\n{self.output()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not printed within {timeout}s:\n{self.output()}")
            time.sleep(0.05)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 20.0) -> int:
        code = stop(self.process, timeout, sig)
        self._log.close()
        return code

    def __enter__(self) -> ManagedProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def luthien(*args: str) -> list[str]:
    """The command line for the `luthien` CLI of the package under test."""
    return [sys.executable, "-m", "luthien_proxy", *args]
