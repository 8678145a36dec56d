"""`luthien up` as an operator meets it: generated key, scale-out backends with the response cache,
a child dying, a bad start, and a start that meets another stack or a taken port."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from openai.types.chat import ChatCompletionMessageParam

from luthien_proxy.control_plane import StartupError
from luthien_proxy.tooling.stack.supervisor import ChildSpec, Supervisor
from tests.conftest import REDIS_URL, require_servers
from tests.e2e.stack import REPO, RunningStack, luthien_up
from tests.support.cli_main import as_a_fresh_process
from tests.support.processes import free_port, luthien
from tests.support.waiting import eventually

pytestmark = pytest.mark.e2e

CLEAN_ENV = {"DATABASE_URL": "", "REDIS_URL": "", "LUTHIEN_POLICY_CONFIG": ""}
SLEEPER = [sys.executable, "-c", "import time; time.sleep(120)"]


@pytest.fixture(scope="module")
def keyless_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One stack started without LITELLM_MASTER_KEY, shared by the tests that only look at it."""
    with luthien_up(
        tmp_path_factory.mktemp("up"), policy="all_caps.yaml", env={"LITELLM_MASTER_KEY": ""}
    ) as stack:
        yield stack


def _generated_key(stack: RunningStack) -> str:
    match = re.search(r"API key \(all\)\s+(sk-luthien-\S+)", stack.output())
    assert match, stack.output()
    return match.group(1)


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


def test_generated_key_is_printed_and_works(keyless_stack: RunningStack) -> None:
    stack, key = keyless_stack, _generated_key(keyless_stack)
    output = stack.output()
    assert "generated for this run" in output
    client = openai.OpenAI(base_url=f"{stack.proxy_url}/v1", api_key=key, max_retries=0)
    reply = client.chat.completions.create(model="demo-echo", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "YOU SAID: HI"
    assert f'api_key="{key}"' in output, "the printed snippet carries the key"


def test_a_second_up_is_refused_before_it_touches_the_running_stack(
    keyless_stack: RunningStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On the running stack's ports, or from its directory: one line, exit 1, and the running
    stack keeps its logs, its config and its key."""
    stack = keyless_stack
    workdir = stack.log_path.parent
    files = [*(workdir / ".luthien" / "logs").glob("*.log"), workdir / ".luthien" / "litellm_config.yaml"]
    before = {path: path.read_bytes() for path in files}
    ports = [_port(stack.upstream_url), _port(stack.control_plane_url), _port(stack.proxy_url)]
    cases = [
        (ports, f"port {ports[0]} (--demo-upstream-port) is in use by another process"),
        ([free_port(), free_port(), free_port()], "another `luthien up` (pid "),
    ]
    for (upstream, control_plane, proxy), refusal in cases:
        code, output = _up_in_process(
            monkeypatch,
            capsys,
            workdir,
            "--demo",
            "--demo-upstream-port",
            str(upstream),
            "--control-plane-port",
            str(control_plane),
            "--proxy-port",
            str(proxy),
            "--litellm-config",
            str(REPO / "config" / "litellm_config.yaml"),
            env=CLEAN_ENV,
        )
        assert code == 1, output
        assert "Luthien is up" not in output
        assert output.strip().splitlines()[-1].startswith(f"luthien: cannot start: {refusal}"), output
    for path, content in before.items():
        assert path.read_bytes().startswith(content), f"{path} was overwritten"
    client = openai.OpenAI(base_url=f"{stack.proxy_url}/v1", api_key=_generated_key(stack), max_retries=0)
    reply = client.chat.completions.create(model="demo-echo", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "YOU SAID: HI"


def test_status_tells_what_the_stack_runs_where(
    keyless_stack: RunningStack, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`luthien status` in the stack's directory finds it through .luthien/stack.json."""
    from luthien_proxy.cli.main import main

    stack = keyless_stack
    monkeypatch.chdir(stack.log_path.parent)
    monkeypatch.delenv("LUTHIEN_ADMIN_KEY", raising=False)
    assert main(["status"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("Luthien is healthy   (luthien up, pid "), table
    assert "AllCapsPolicy" in table
    assert main(["status", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["healthy"] and found["details"] == "full"
    urls = {check["name"]: (check["url"], check["ok"]) for check in found["processes"]}
    assert urls == {
        "control-plane": (stack.control_plane_url, True),
        "litellm-proxy": (f"{stack.proxy_url}/v1", True),
        "demo-upstream": (stack.upstream_url, True),
    }
    assert found["control_plane"]["store"]["location"] == "sqlite:///.luthien/luthien.db"
    assert found["control_plane"]["write_queue"]["pending"] >= 0


async def test_health_counts_only_when_our_own_child_answers(
    keyless_stack: RunningStack, tmp_path: Path
) -> None:
    """A child whose port answers /health from another process (the running stack) is not up."""
    port = _port(keyless_stack.control_plane_url)
    spec = ChildSpec("control-plane", SLEEPER, {}, f"{keyless_stack.control_plane_url}/health", port)
    supervisor = Supervisor([spec], tmp_path)
    with pytest.raises(StartupError, match=f"could not take port {port}: it is in use by another process"):
        await supervisor.start(asyncio.Event())
    assert [child.process.returncode for child in supervisor.children] == [-signal.SIGTERM]


async def test_any_failed_start_stops_every_child(tmp_path: Path) -> None:
    """Whatever ends the start early (here the task running it is cancelled while the second child
    starts), no child is left running."""
    port, never = free_port(), free_port()
    specs = [
        ChildSpec(
            "demo-upstream",
            luthien("demo-upstream", "--port", str(port)),
            {},
            f"http://127.0.0.1:{port}/health",
            port,
        ),
        ChildSpec("never-healthy", SLEEPER, {}, f"http://127.0.0.1:{never}/health", never),
    ]
    supervisor = Supervisor(specs, tmp_path)
    start = asyncio.create_task(supervisor.start(asyncio.Event()))

    async def both_spawned() -> bool:
        return len(supervisor.children) == 2

    await eventually(both_spawned, timeout=60)
    start.cancel()
    with pytest.raises(asyncio.CancelledError):
        await start
    assert [child.process.returncode for child in supervisor.children] == [-signal.SIGTERM] * 2


async def test_a_port_clash_is_reported_by_its_cause_in_one_line(tmp_path: Path) -> None:
    """LiteLLM ends a failed bind with a CancelledError traceback; the error shown is the bind."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        args = luthien("proxy", "--config", str(REPO / "config" / "litellm_config.yaml"), "--port", str(port))
        # The held port stands in for the demo upstream too: LiteLLM's start-up model-info refresh
        # is still waiting on it when the bind fails, so its CancelledError ends the log.
        env = {"LITELLM_MASTER_KEY": "sk-clash", "LUTHIEN_DEMO_UPSTREAM_URL": f"http://127.0.0.1:{port}/v1"}
        spec = ChildSpec(
            "litellm-proxy",
            args,
            env,
            f"http://127.0.0.1:{port}/health/liveliness",
            port,
            120.0,
        )
        supervisor = Supervisor([spec], tmp_path)
        with pytest.raises(StartupError) as caught:
            await supervisor.start(asyncio.Event())
    message = str(caught.value)
    assert "CancelledError" in (tmp_path / "litellm-proxy.log").read_text(), "the tail it must skip"
    assert "\n" not in message and "CancelledError" not in message
    assert message.startswith("litellm-proxy exited with code 3 during start-up: ")
    assert f"('127.0.0.1', {port}): address already in use" in message


def test_scale_out_backends_and_cached_answers_are_still_policed_then_sigterm_stops_it_cleanly(
    tmp_path: Path, postgres_url: str
) -> None:
    """One stack for both (each start costs seconds): the scale-out backends, then SIGTERM."""
    require_servers()
    env = {"DATABASE_URL": postgres_url, "REDIS_URL": REDIS_URL}
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": f"cache me {uuid.uuid4().hex}"}]
    with luthien_up(tmp_path, policy="all_caps.yaml", env=env) as stack:
        assert "starting on Postgres + Redis" in stack.output()
        client = stack.client()
        first = client.chat.completions.create(model="demo-echo", messages=messages)
        second = client.chat.completions.create(model="demo-echo", messages=messages)
        other = client.chat.completions.create(
            model="demo-echo",
            messages=[{"role": "user", "content": f"not cached {uuid.uuid4().hex}"}],
        )
        with stack.control_plane() as control_plane:
            health = control_plane.get("/health").json()
        state = tmp_path / ".luthien" / "stack.json"
        assert json.loads(state.read_text())["pid"] == stack.process.pid
        assert stack.stop(signal.SIGTERM) == 0
        output = stack.output()
    assert "stopping ..." in output
    assert not state.exists(), "luthien status must not find a stopped stack"
    assert second.id == first.id, "the repeat was served from LiteLLM's Redis cache"
    assert other.id != first.id
    assert second.choices[0].message.content == first.choices[0].message.content
    answer = second.choices[0].message.content or ""
    assert answer and answer == answer.upper()
    assert (health["store"]["backend"], health["bus"]["backend"]) == ("postgresql", "redis")


def test_a_dying_child_stops_the_stack_with_the_reason(tmp_path: Path) -> None:
    with luthien_up(tmp_path) as stack:
        port = stack.control_plane_url.rsplit(":", 1)[1]
        subprocess.run(
            ["pkill", "-KILL", "-f", f"luthien_proxy control-plane --host 127.0.0.1 --port {port}"]
        )
        code = stack.process.wait(timeout=30)
        output = stack.output()
    assert code == 1
    assert "control-plane exited with code -9; stopping the others" in output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--policy", "no/such/policy.yaml"], "policy config no/such/policy.yaml does not exist"),
        (
            ["--litellm-config", "missing.yaml"],
            "LiteLLM config missing.yaml does not exist (see --litellm-config)",
        ),
    ],
)
def test_bad_start_is_one_clear_line(
    tmp_path: Path,
    args: list[str],
    fragment: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, output = _up_in_process(
        monkeypatch, capsys, tmp_path, "--demo", "--proxy-port", str(free_port()), *args
    )
    assert code == 1
    assert output.strip().splitlines()[-1] == f"luthien: cannot start: {fragment}"


def _up_in_process(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    cwd: Path,
    *args: str,
    env: dict[str, str] | None = None,
) -> tuple[int, str]:
    """`luthien up <args>`'s main in this process, as a new process in `cwd` runs it (a subprocess
    costs seconds of imports): its exit code and what it printed (stdout, then stderr, where the
    refusal goes). A start that got past its checks fails the test instead of starting children."""
    from luthien_proxy.cli.main import main
    from luthien_proxy.tooling.stack import up

    async def refuse_to_start(*_: object, **__: object) -> int:
        raise AssertionError("luthien up got past its checks and started the stack")

    with monkeypatch.context() as patched:
        as_a_fresh_process(patched, cwd, env or {"DATABASE_URL": "", "REDIS_URL": ""})
        patched.setattr(up, "_run", refuse_to_start)
        code = main(["up", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_stack_keys_generate_an_admin_key_off_loopback_or_when_the_policy_audits() -> None:
    from luthien_proxy.tooling.stack.up import stack_keys

    local = stack_keys({}, "127.0.0.1")
    exposed = stack_keys({}, "0.0.0.0")
    chosen = stack_keys({"LUTHIEN_ADMIN_KEY": "mine", "LITELLM_MASTER_KEY": "sk-mine"}, "0.0.0.0")
    assert local.admin_key is None and local.master_key.startswith("sk-luthien-")
    assert exposed.admin_key and exposed.admin_key_generated
    assert (chosen.admin_key, chosen.admin_key_generated, chosen.master_key) == ("mine", False, "sk-mine")
    auditing = stack_keys({}, "127.0.0.1", audits=True)  # only the admin key may decide held calls
    assert auditing.admin_key and auditing.admin_key_generated
