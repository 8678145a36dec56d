"""The real Claude Code CLI for end-to-end tests: pinned, installed from npm on first use, run offline.

`claude_code_binary()` installs `@anthropic-ai/claude-code` into `.cache/clients/` (once, under a lock);
`run_claude()` runs `claude -p` against a base URL with a throwaway home and every background call off.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

CLAUDE_CODE_VERSION = "2.1.328"
PACKAGE = "@anthropic-ai/claude-code"
REPO_ROOT = Path(__file__).resolve().parents[2]
# One folder per version, so bumping the pin installs beside the old one instead of over it.
INSTALL_ROOT = Path(os.environ.get("LUTHIEN_CLIENTS_CACHE", REPO_ROOT / ".cache" / "clients")) / "claude-code"
INSTALL_DIR = INSTALL_ROOT / CLAUDE_CODE_VERSION
PACKAGE_DIR = INSTALL_DIR / "node_modules" / "@anthropic-ai" / "claude-code"
NPM_TIMEOUT = 600.0

# Each one stops a call that does not go to ANTHROPIC_BASE_URL. NONESSENTIAL_TRAFFIC is the one that
# matters: without it 2.1.328 sends `HEAD /api/hello` to the base URL and looks up api.anthropic.com
# even in `-p` mode. The rest are belt and braces for paths `-p` does not take today.
OFFLINE_ENV: dict[str, str] = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_AUTOUPDATER": "1",
    "DISABLE_UPDATES": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_BUG_COMMAND": "1",
    "DISABLE_FEEDBACK_COMMAND": "1",
    "CLAUDE_CODE_DISABLE_FEEDBACK_SURVEY": "1",
}
# By default the CLI retries a 5xx/429/401 ten times over ~3 minutes; a test wants the failure now.
DEFAULT_MAX_RETRIES = "1"
# Same rule as tests/conftest.py's REQUIRE_SERVICES (not imported: support must not import conftest).
REQUIRED = os.environ.get("LUTHIEN_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


class ClaudeCodeUnavailable(RuntimeError):
    """The pinned CLI is not installed and could not be installed (npm missing or failing)."""


def _binary(package_dir: Path) -> Path:
    return package_dir / "bin" / "claude.exe"


def _version_of(binary: Path) -> str | None:
    """`claude --version`'s version, or None when the file is missing or only install.cjs's stub."""
    if not binary.is_file() or binary.stat().st_size < 1_000_000:
        return None
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, env=_base_env()
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.split()[0] if done.returncode == 0 and done.stdout.strip() else None


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    """One installer at a time across processes (several pytest runs can share the cache)."""
    INSTALL_ROOT.mkdir(parents=True, exist_ok=True)
    with (INSTALL_ROOT / ".install.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _run_step(args: Sequence[str], cwd: Path, env: Mapping[str, str], what: str) -> None:
    try:
        done = subprocess.run(
            list(args), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=NPM_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise ClaudeCodeUnavailable(f"{what} did not finish within {NPM_TIMEOUT:g}s: {args}") from exc
    if done.returncode != 0:
        raise ClaudeCodeUnavailable(
            f"{what} failed (exit {done.returncode}): {' '.join(args)}\n{done.stdout}\n{done.stderr}"
        )


def _install() -> None:
    """npm-install the pinned package into a staging folder, place the native binary, then rename."""
    npm = shutil.which("npm")
    if npm is None:
        raise ClaudeCodeUnavailable(
            "npm not found on PATH: install Node.js and npm (Debian: apt-get install npm)"
        )
    staging = Path(tempfile.mkdtemp(prefix=f".{CLAUDE_CODE_VERSION}-", dir=INSTALL_ROOT))
    staging.chmod(0o755)
    try:
        # A private npm cache (deleted with the staging folder) keeps the user's cache out of it and
        # avoids a second 170 MB copy of the native package. The registry stays the user's own.
        env = {
            **os.environ,
            "npm_config_cache": str(staging / ".npm-cache"),
            "npm_config_update_notifier": "false",
        }
        _run_step(
            [
                npm,
                "install",
                "--prefix",
                str(staging),
                "--no-save",
                "--no-package-lock",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
                # The native binary is an optional dependency (@anthropic-ai/claude-code-linux-x64):
                # an npmrc with omit=optional would leave only the stub.
                "--include=optional",
                # The package declares node>=22 but runs on 20: the binary is native, node only installs.
                "--engine-strict=false",
                # postinstall is run below, explicitly, so an npmrc with ignore-scripts cannot skip it.
                "--ignore-scripts",
                f"{PACKAGE}@{CLAUDE_CODE_VERSION}",
            ],
            staging,
            env,
            f"npm install {PACKAGE}@{CLAUDE_CODE_VERSION}",
        )
        package_dir = staging / PACKAGE_DIR.relative_to(INSTALL_DIR)
        # install.cjs downloads nothing: it hard-links the platform package's binary over bin/claude.exe.
        _run_step(["node", "install.cjs"], package_dir, env, "node install.cjs")
        found = _version_of(_binary(package_dir))
        if found != CLAUDE_CODE_VERSION:
            raise ClaudeCodeUnavailable(
                f"installed CLI reports version {found!r}, wanted {CLAUDE_CODE_VERSION}"
            )
        shutil.rmtree(staging / ".npm-cache", ignore_errors=True)
        shutil.rmtree(INSTALL_DIR, ignore_errors=True)  # a broken earlier install
        staging.rename(INSTALL_DIR)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@functools.cache
def _installed() -> Path | ClaudeCodeUnavailable:
    # Cached either way, so one failed npm run is reported by every test instead of repeated by each.
    binary = _binary(PACKAGE_DIR)
    if _version_of(binary) == CLAUDE_CODE_VERSION:
        return binary
    try:
        with _install_lock():
            if _version_of(binary) != CLAUDE_CODE_VERSION:  # another process may have installed it meanwhile
                _install()
    except (ClaudeCodeUnavailable, OSError) as exc:
        return exc if isinstance(exc, ClaudeCodeUnavailable) else ClaudeCodeUnavailable(str(exc))
    return binary


def claude_code_binary() -> Path:
    """The pinned `claude` binary, installed into the cache first if missing; raises ClaudeCodeUnavailable."""
    found = _installed()
    if isinstance(found, ClaudeCodeUnavailable):
        raise found
    return found


def require_claude_code() -> Path:
    """`claude_code_binary()` for a test: unavailable fails it under CI (or LUTHIEN_REQUIRE_SERVICES=1),
    skips it locally."""
    try:
        return claude_code_binary()
    except ClaudeCodeUnavailable as exc:
        if REQUIRED:
            pytest.fail(f"Claude Code CLI {CLAUDE_CODE_VERSION} unavailable: {exc}", pytrace=False)
        pytest.skip(f"Claude Code CLI {CLAUDE_CODE_VERSION} unavailable: {exc}")


def _base_env() -> dict[str, str]:
    """A clean environment: nothing inherited but PATH, so no real key or ANTHROPIC_* setting leaks in."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "TERM": "dumb", **OFFLINE_ENV}


def claude_env(
    base_url: str, api_key: str | None, home: Path, *, auth_token: str | None = None, timeout: float = 120.0
) -> dict[str, str]:
    """The environment `run_claude` gives the CLI: offline, its home and config inside `home`."""
    env = _base_env()
    env.update(
        {
            "HOME": str(home),
            "CLAUDE_CONFIG_DIR": str(home / ".claude"),
            # The Bash tool's scratch files go here instead of /tmp/claude-<uid>.
            "CLAUDE_CODE_TMPDIR": str(home / "tmp"),
            "ANTHROPIC_BASE_URL": base_url,
            "CLAUDE_CODE_MAX_RETRIES": DEFAULT_MAX_RETRIES,
            # The CLI's own request timeout (default 600 s) never outlasts ours.
            "API_TIMEOUT_MS": str(int(timeout * 1000)),
        }
    )
    if api_key is not None:
        env["ANTHROPIC_API_KEY"] = api_key  # sent as x-api-key
    if auth_token is not None:
        env["ANTHROPIC_AUTH_TOKEN"] = auth_token  # sent as Authorization: Bearer
    return env


def run_claude(
    prompt: str,
    base_url: str,
    api_key: str | None,
    cwd: Path,
    allowed_tools: Sequence[str] = ("Bash",),
    timeout: float = 120.0,
    *,
    model: str | None = None,
    auth_token: str | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`claude -p PROMPT --allowedTools ...` against `base_url`; the final text is on stdout.

    `home` (default: a temporary folder, removed after) holds the CLI's config and session transcript;
    `env` overrides single variables (e.g. CLAUDE_CODE_MAX_RETRIES). Fails on timeout with the output.
    """
    binary = require_claude_code()
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="claude-code-home-")))
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        full_env = {
            **claude_env(base_url, api_key, home, auth_token=auth_token, timeout=timeout),
            **(env or {}),
        }
        args = [str(binary), "-p", prompt]
        if allowed_tools:
            args += ["--allowedTools", ",".join(allowed_tools)]
        if model is not None:
            args += ["--model", model]
        args += list(extra_args)
        # Own session, so a timeout also ends the shell commands the Bash tool started.
        process = subprocess.Popen(
            args,
            cwd=cwd,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise AssertionError(
                f"claude -p did not finish within {timeout:g}s\nstdout:\n{stdout}\nstderr:\n{stderr}"
            ) from None
        return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
