"""The real OpenAI Codex CLI for end-to-end tests: pinned, installed from npm on first use, run offline.

`codex_binary()` installs `@openai/codex` into `.cache/clients/codex/` (once, under a lock); `run_codex()`
runs `codex exec` against a Responses API base URL with a throwaway CODEX_HOME and every background call off.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import os
import platform
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import pytest

CODEX_VERSION = "0.169.0"
PACKAGE = "@openai/codex"
REPO_ROOT = Path(__file__).resolve().parents[2]
# One folder per version, so bumping the pin installs beside the old one instead of over it.
INSTALL_ROOT = Path(os.environ.get("LUTHIEN_CLIENTS_CACHE", REPO_ROOT / ".cache" / "clients")) / "codex"
INSTALL_DIR = INSTALL_ROOT / CODEX_VERSION
NPM_TIMEOUT = 600.0
# The native binary is in the platform package npm picks as an optional dependency (bin/codex.js finds it so).
PLATFORM_PACKAGES: dict[str, tuple[str, str]] = {
    "x86_64": ("codex-linux-x64", "x86_64-unknown-linux-musl"),
    "aarch64": ("codex-linux-arm64", "aarch64-unknown-linux-musl"),
}
# The variable the provider block names in `env_key`; the CLI sends its value as `Authorization: Bearer`.
KEY_ENV = "LUTHIEN_CODEX_API_KEY"
# Same rule as tests/conftest.py's REQUIRE_SERVICES (not imported: support must not import conftest).
REQUIRED = os.environ.get("LUTHIEN_REQUIRE_SERVICES") == "1" or os.environ.get("CI") == "true"


class CodexUnavailable(RuntimeError):
    """The pinned CLI is missing and cannot be installed (npm missing or failing, no build for this CPU)."""


def _binary(root: Path) -> Path:
    machine = platform.machine()
    if platform.system() != "Linux" or machine not in PLATFORM_PACKAGES:
        raise CodexUnavailable(f"no Codex CLI build is wired up for {platform.system()} {machine}")
    package, triple = PLATFORM_PACKAGES[machine]
    return root / "node_modules" / "@openai" / package / "vendor" / triple / "bin" / "codex"


def _version_of(binary: Path) -> str | None:
    """`codex --version`'s version (it prints `codex-cli 0.169.0`), or None when missing or broken."""
    if not binary.is_file():
        return None
    try:
        done = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, timeout=30, env=_base_env()
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    words = done.stdout.split()
    return words[-1] if done.returncode == 0 and words else None


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


def _install() -> None:
    """npm-install the pinned package (and so its platform binary) into a staging folder, then rename."""
    npm = shutil.which("npm")
    if npm is None:
        raise CodexUnavailable("npm not found on PATH: install Node.js and npm (Debian: apt-get install npm)")
    staging = Path(tempfile.mkdtemp(prefix=f".{CODEX_VERSION}-", dir=INSTALL_ROOT))
    staging.chmod(0o755)
    try:
        # A private npm cache (deleted with the staging folder) keeps the user's cache out of it and
        # avoids a second 160 MB copy of the platform package. The registry stays the user's own.
        env = {
            **os.environ,
            "npm_config_cache": str(staging / ".npm-cache"),
            "npm_config_update_notifier": "false",
        }
        args = [
            npm,
            "install",
            "--prefix",
            str(staging),
            "--no-save",
            "--no-package-lock",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            # The binary is an optional dependency (@openai/codex-linux-x64 = @openai/codex@<v>-linux-x64):
            # an npmrc with omit=optional would leave only the JavaScript launcher.
            "--include=optional",
            # The package has no install scripts; nothing is downloaded but the two tarballs.
            "--ignore-scripts",
            f"{PACKAGE}@{CODEX_VERSION}",
        ]
        try:
            done = subprocess.run(
                args, cwd=staging, env=env, capture_output=True, text=True, timeout=NPM_TIMEOUT
            )
        except subprocess.TimeoutExpired as exc:
            raise CodexUnavailable(f"npm install did not finish within {NPM_TIMEOUT:g}s: {args}") from exc
        if done.returncode != 0:
            raise CodexUnavailable(
                f"npm install failed (exit {done.returncode}): {' '.join(args)}\n{done.stdout}\n{done.stderr}"
            )
        found = _version_of(_binary(staging))
        if found != CODEX_VERSION:
            raise CodexUnavailable(
                f"installed Codex CLI reports version {found!r}, wanted {CODEX_VERSION} "
                f"(is the optional dependency missing? looked for {_binary(staging)})"
            )
        shutil.rmtree(staging / ".npm-cache", ignore_errors=True)
        shutil.rmtree(INSTALL_DIR, ignore_errors=True)  # a broken earlier install
        staging.rename(INSTALL_DIR)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@functools.cache
def _installed() -> Path | CodexUnavailable:
    # Cached either way, so one failed npm run is reported by every test instead of repeated by each.
    try:
        binary = _binary(INSTALL_DIR)
        if _version_of(binary) == CODEX_VERSION:
            return binary
        with _install_lock():
            if _version_of(binary) != CODEX_VERSION:  # another process may have installed it meanwhile
                _install()
    except (CodexUnavailable, OSError) as exc:
        return exc if isinstance(exc, CodexUnavailable) else CodexUnavailable(str(exc))
    return binary


def codex_binary() -> Path:
    """The pinned native `codex` binary, installed first if missing; raises CodexUnavailable."""
    found = _installed()
    if isinstance(found, CodexUnavailable):
        raise found
    return found


def require_codex() -> Path:
    """`codex_binary()` for a test: missing fails under CI or LUTHIEN_REQUIRE_SERVICES=1, else skips."""
    try:
        return codex_binary()
    except CodexUnavailable as exc:
        if REQUIRED:
            pytest.fail(f"Codex CLI {CODEX_VERSION} unavailable: {exc}", pytrace=False)
        pytest.skip(f"Codex CLI {CODEX_VERSION} unavailable: {exc}")


def _base_env() -> dict[str, str]:
    """A clean environment: nothing inherited but PATH, so no real key or OPENAI_* setting leaks in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "NO_COLOR": "1",
    }


def _toml(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def codex_config(
    base_url: str, model: str, *, with_key: bool = True, max_retries: int = 0, timeout: float = 120.0
) -> str:
    """The `$CODEX_HOME/config.toml` run_codex writes: one Responses provider, and nothing that phones home.

    `base_url` is the provider's as a user writes it (`http://127.0.0.1:8000/v1`): Codex appends `/responses`.
    """
    lines = [
        f"model = {_toml(model)}",
        'model_provider = "luthien"',
        # Commands run without asking and unsandboxed (run_codex also passes the bypass flag):
        # Codex's own sandbox is not what a test checks, Luthien is.
        'approval_policy = "never"',
        'sandbox_mode = "danger-full-access"',
        "check_for_update_on_startup = false",
        "",
        "[model_providers.luthien]",
        'name = "Luthien"',
        f"base_url = {_toml(base_url)}",
        'wire_api = "responses"',
        # Defaults: 4 request x 5 stream retries (a 500 is sent 30 times over ~25 s); a test wants it now.
        f"request_max_retries = {max_retries}",
        f"stream_max_retries = {max_retries}",
        f"stream_idle_timeout_ms = {int(timeout * 1000)}",
    ]
    if with_key:  # without env_key no Authorization header is sent at all
        lines.append(f"env_key = {_toml(KEY_ENV)}")
    lines += [
        "",
        # Else every run syncs plugins from github.com and chatgpt.com (plugins=false is what stops it).
        "[features]",
        "plugins = false",
        "apps = false",
        "",
        # Analytics on (the default) sends OTLP metrics to ab.chatgpt.com at exit; either table stops it.
        "[analytics]",
        "enabled = false",
        "",
        "[otel]",
        'exporter = "none"',
        'metrics_exporter = "none"',
        'trace_exporter = "none"',
        "",
        # The commands the model runs see Codex's environment: keep the key out of it.
        "[shell_environment_policy]",
        f"exclude = [{_toml(KEY_ENV)}]",
    ]
    return "\n".join(lines) + "\n"


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (from /proc), so a timeout also ends shell commands in their own sessions."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def run_codex(
    prompt: str,
    base_url: str,
    api_key: str | None,
    cwd: Path,
    *,
    model: str = "demo-agent",
    timeout: float = 120.0,
    max_retries: int = 0,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """`codex exec PROMPT` against `base_url` (see codex_config); final message on stdout, its log on stderr.

    `home` (default: a temporary folder, removed after) holds `codex-home/` (CODEX_HOME: config.toml,
    sessions/ transcripts), `home/` (HOME) and `tmp/` (TMPDIR). `env` overrides single variables.
    Fails on timeout with the output.
    """
    binary = require_codex()
    with contextlib.ExitStack() as stack:
        if home is None:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="codex-run-")))
        codex_home = home / "codex-home"
        for folder in (codex_home, home / "home", home / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        config = codex_config(
            base_url, model, with_key=api_key is not None, max_retries=max_retries, timeout=timeout
        )
        (codex_home / "config.toml").write_text(config)
        full_env = {
            **_base_env(),
            "HOME": str(home / "home"),
            "CODEX_HOME": str(codex_home),
            # CODEX_HOME must not lie under TMPDIR, or Codex refuses to set up its helper aliases (a warning).
            "TMPDIR": str(home / "tmp"),
            **({KEY_ENV: api_key} if api_key is not None else {}),
            **(env or {}),
        }
        args = [
            str(binary),
            "exec",
            # A typo in config.toml (or a key a new version drops) fails the run instead of being ignored.
            "--strict-config",
            "--dangerously-bypass-approvals-and-sandbox",
            "--skip-git-repo-check",
            "--color",
            "never",
            *extra_args,
            prompt,
        ]
        # Own session, so a timeout also ends what the CLI started; stdin closed, else exec reads more prompt.
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
            for pid in [*_descendants(process.pid), process.pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            raise AssertionError(
                f"codex exec did not finish within {timeout:g}s\nstdout:\n{stdout}\nstderr:\n{stderr}"
            ) from None
        return subprocess.CompletedProcess(args, process.returncode, stdout, stderr)
