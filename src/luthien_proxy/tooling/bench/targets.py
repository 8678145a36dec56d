"""The processes behind the benchmark targets (`catalog`), on free loopback ports."""

from __future__ import annotations

import contextlib
import ctypes
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import luthien_proxy
from luthien_proxy.tooling.bench.apis import ANTHROPIC, OPENAI
from luthien_proxy.tooling.bench.catalog import TARGETS, TargetSpec, parse_target_keys
from luthien_proxy.tooling.stack.processes import child_env, free_port, wait_until_healthy

HOST = "127.0.0.1"
REPO_CONFIG = Path(luthien_proxy.__file__).resolve().parents[2] / "config"
#: policy key -> (shipped config file, class, config used when the file is not shipped beside the code)
_POLICIES: dict[str, tuple[str, str, dict[str, Any]]] = {
    "noop": ("luthien_config.yaml", "luthien_proxy.policies.noop:NoOpPolicy", {}),
    "all_caps": ("all_caps.yaml", "luthien_proxy.policies.all_caps:AllCapsPolicy", {}),
    "tool_guard": (
        "tool_guard.yaml",
        "luthien_proxy.protocols:TrustedMonitoringPolicy",
        {"threshold": 0.5, "monitor": {"kind": "command"}},
    ),
}
# Inherited settings that would change what is measured; each server gets exactly ours.
_STRIPPED_PREFIXES = ("LUTHIEN_", "LITELLM_")
_STRIPPED = {"DATABASE_URL", "REDIS_URL", "CONFIG_FILE_PATH"}
_START_TIMEOUT_S = 120.0
_PR_SET_PDEATHSIG = 1
__all__ = ["HOST", "REPO_CONFIG", "TARGETS", "Stack", "Target", "TargetSpec", "parse_target_keys"]


@dataclass
class Server:
    """One child server process and its log."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class Target:
    """A running target: where to send requests, with which key, and which processes serve it."""

    spec: TargetSpec
    port: int
    api_key: str
    servers: list[Server]  # the target's own processes (the upstream itself for A, F, I, O, Q and S)
    control_plane: Server | None = None


@dataclass
class Stack:
    """Starts the servers the chosen targets need; `close()` stops them all."""

    workdir: Path
    keys: Sequence[str]
    master_key: str = field(default_factory=lambda: f"sk-bench-{secrets.token_hex(12)}")
    proxy_token: str = field(default_factory=lambda: secrets.token_hex(16))
    servers: list[Server] = field(default_factory=list)
    targets: dict[str, Target] = field(default_factory=dict)
    upstream: Server | None = None

    def start(self) -> None:
        """Start the upstream, then every other server at once, and wait until all are healthy.

        The native targets of one policy share one control plane (D, G and J; E, H and K; P, R and
        T): it serves every API, as a deployment's does. The Responses door calls the OpenAI entries'
        `{api_base}/responses`, so the native model list needs no entries of its own for it. The
        bare LiteLLM targets (B, M) share one proxy; each LiteLLM + Luthien target has its own pair.
        """
        up = self._spawn("demo-upstream", ["demo-upstream", "--log-level", "warning"], {})
        self._wait(up, "/health")
        self.upstream = up
        base = f"http://{HOST}:{up.port}"
        openai_models = self._write_models("models.yaml", base, (OPENAI,))
        native_models = self._write_models("native-models.yaml", base, (OPENAI, ANTHROPIC))
        specs = [TARGETS[key] for key in self.keys]
        pending: list[tuple[Server, str]] = []
        native: dict[str, Server] = {}  # policy -> its native control plane
        bare: Server | None = None
        for policy in dict.fromkeys(s.policy for s in specs if s.kind == "native" and s.policy):
            sharing = "".join(s.key for s in specs if s.kind == "native" and s.policy == policy)
            native[policy] = self._control_plane(f"control-plane-{sharing}", policy, native_models)
            pending.append((native[policy], "/health"))
        for spec in specs:
            if spec.kind == "upstream":
                target = Target(spec, up.port, self.master_key, [up])
            elif spec.kind == "native":
                cp = native[spec.policy or "noop"]
                target = Target(spec, cp.port, self.master_key, [cp], cp)
            elif spec.kind == "litellm":
                if bare is None:
                    bare = self._proxy("litellm-bare", openai_models, with_callback=False, cp_port=None)
                    pending.append((bare, "/health/liveliness"))
                target = Target(spec, bare.port, self.master_key, [bare])
            else:
                cp = self._control_plane(f"control-plane-{spec.key}", spec.policy or "noop", openai_models)
                name = f"litellm-luthien-{spec.key}"
                proxy = self._proxy(name, openai_models, with_callback=True, cp_port=cp.port)
                pending += [(cp, "/health"), (proxy, "/health/liveliness")]
                target = Target(spec, proxy.port, self.master_key, [proxy, cp], cp)
            self.targets[spec.key] = target
        for server, path in pending:
            self._wait(server, path)

    def close(self) -> None:
        """Stop every server: SIGTERM all, then wait (and kill stragglers)."""
        for server in self.servers:
            if server.proc.poll() is None:
                server.proc.terminate()
        for server in self.servers:
            try:
                server.proc.wait(10)
            except subprocess.TimeoutExpired:
                server.proc.kill()
                server.proc.wait()

    def dead_servers(self) -> list[Server]:
        """Servers that exited while the benchmark ran."""
        return [s for s in self.servers if s.proc.poll() is not None]

    def _spawn(self, name: str, args: list[str], env: dict[str, str]) -> Server:
        port = free_port()
        log = self.workdir / f"{name}.log"
        base = {
            k: v
            for k, v in child_env().items()
            if not k.startswith(_STRIPPED_PREFIXES) and k not in _STRIPPED
        }
        with log.open("wb") as out:  # the child keeps its own descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "luthien_proxy", *args, "--port", str(port)],
                env={**base, **env},
                cwd=self.workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )
        server = Server(name, port, proc, log)
        self.servers.append(server)
        return server

    def _wait(self, server: Server, path: str) -> None:
        try:
            wait_until_healthy(f"http://{HOST}:{server.port}{path}", server.proc, _START_TIMEOUT_S)
        except (RuntimeError, TimeoutError) as exc:
            raise RuntimeError(f"{server.name} did not start: {exc}\n{server.log_tail()}") from exc

    def _proxy(self, name: str, models: Path, *, with_callback: bool, cp_port: int | None) -> Server:
        config = yaml.safe_load(models.read_text())
        settings: dict[str, Any] = {"drop_params": True}
        if with_callback:
            settings["callbacks"] = "luthien_proxy.doors.litellm.callback.litellm_callback.luthien_callback"
        config["litellm_settings"] = settings
        config["general_settings"] = {"master_key": "os.environ/LITELLM_MASTER_KEY"}
        path = self.workdir / f"{name}.yaml"
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        env = {"LITELLM_MASTER_KEY": self.master_key}
        if cp_port is not None:
            env |= {
                "LUTHIEN_CONTROL_PLANE_URL": f"http://{HOST}:{cp_port}",
                "LUTHIEN_PROXY_TOKEN": self.proxy_token,
            }
        # uvicorn's per-request access log line is noise here and costs measurable CPU.
        return self._spawn(name, ["proxy", "--config", str(path), "--log-level", "warning"], env)

    def _control_plane(self, name: str, policy: str, models: Path) -> Server:
        env = {
            "LUTHIEN_POLICY_CONFIG": str(self._policy_file(policy)),
            "LUTHIEN_PROXY_TOKEN": self.proxy_token,
            "LUTHIEN_LOG_LEVEL": "warning",
            "LUTHIEN_MODEL_CONFIG": str(models),
            "LITELLM_MASTER_KEY": self.master_key,
            "DATABASE_URL": f"sqlite:///{self.workdir / (name + '.db')}",
            "REDIS_URL": "",
        }
        return self._spawn(name, ["control-plane", "--host", HOST], env)

    def _policy_file(self, policy: str) -> Path:
        filename, class_path, config = _POLICIES[policy]
        shipped = REPO_CONFIG / filename
        if shipped.is_file():
            return shipped
        path = self.workdir / filename  # installed without the repo: the same policy, its defaults
        path.write_text(yaml.safe_dump({"policy": {"class": class_path, "config": config}}))
        return path

    def _write_models(self, filename: str, base: str, apis: tuple[str, ...]) -> Path:
        """A LiteLLM-format model list forwarding to the demo upstream at `base`, in each of `apis`.

        LiteLLM gets only the OpenAI entries: it would balance same-named entries across both.
        """
        prefix_and_base = {OPENAI: ("openai", f"{base}/v1"), ANTHROPIC: ("anthropic", base)}
        entries = [
            {
                "model_name": model,
                "litellm_params": {
                    "model": f"{prefix_and_base[api][0]}/{model}",
                    "api_base": prefix_and_base[api][1],
                    "api_key": "demo-bench",
                },
            }
            for api in apis
            for model in ("demo-echo", "demo-long", "demo-agent")
        ]
        path = self.workdir / filename
        path.write_text(yaml.safe_dump({"model_list": entries}, sort_keys=False))
        return path


def _die_with_parent() -> None:
    """In the child: get SIGTERM when the benchmark dies, even by SIGKILL, so no server outlives it."""
    # Not Linux: no prctl, and close() still stops the servers on every normal exit.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
